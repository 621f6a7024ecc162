// Run in the page by tests/web/test_page_quality.py: every layout problem, as plain strings.
() => {
  const problems = [];
  const doc = document.documentElement;
  if (doc.scrollWidth > doc.clientWidth + 1) {
    const wide = [...document.querySelectorAll('body *')].filter(el => {
      const r = el.getBoundingClientRect();
      return r.right > doc.clientWidth + 1 && getComputedStyle(el).position !== 'fixed'
        && !el.closest('.table-wrap, pre, .scroll-x');
    }).slice(0, 3).map(el => el.tagName.toLowerCase() + (el.id ? '#' + el.id : '')
      + (el.className && typeof el.className === 'string' ? '.' + el.className.split(' ')[0] : ''));
    problems.push(`horizontal overflow: page is ${doc.scrollWidth}px wide in a ${doc.clientWidth}px window (${wide.join(', ')})`);
  }
  // A word split across lines: some word of the cell's text does not sit on one line.
  const split = (cell) => {
    const walker = document.createTreeWalker(cell, NodeFilter.SHOW_TEXT);
    let node;
    while ((node = walker.nextNode())) {
      const text = node.textContent;
      const re = /[^\s]+/g;
      let m;
      while ((m = re.exec(text))) {
        if (m[0].length < 2) continue;
        const range = document.createRange();
        range.setStart(node, m.index);
        range.setEnd(node, m.index + m[0].length);
        const rects = [...range.getClientRects()].filter(r => r.width > 0);
        if (rects.length > 1 && rects.some(r => Math.abs(r.top - rects[0].top) > 2)) return m[0];
      }
    }
    return null;
  };
  for (const cell of document.querySelectorAll('th')) {
    if (!cell.offsetParent) continue;
    const word = split(cell);
    if (word) problems.push(`table header splits “${word}” across lines: “${cell.innerText.trim()}”`);
  }
  for (const cell of document.querySelectorAll('td, dd, li, p')) {
    if (!cell.offsetParent || cell.closest('pre')) continue;
    const word = split(cell);
    if (word && !/[\/@._-]/.test(word) && word.length < 25)
      problems.push(`“${word}” is broken mid-word in <${cell.tagName.toLowerCase()}>`);
  }
  return problems;
}
