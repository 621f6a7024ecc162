// Parse iCalendar files with Mozilla's ical.js and print every VEVENT's times in UTC (JSON).
// Each file's own VTIMEZONEs are the only zones known while it is read (as in Thunderbird):
// a time whose VTIMEZONE does not cover it comes out as ical.js computes it, wrong or not.
import { readFileSync } from "node:fs";
import ICAL from "ical.js";

const files = [];
for (const path of process.argv.slice(2)) {
  ICAL.TimezoneService.reset();
  const calendar = new ICAL.Component(ICAL.parse(readFileSync(path, "utf8")));
  const zones = calendar.getAllSubcomponents("vtimezone");
  const tzids = zones.map((zone) => zone.getFirstPropertyValue("tzid"));
  for (const zone of zones) {
    ICAL.TimezoneService.register(zone);
  }
  const events = calendar.getAllSubcomponents("vevent").map((component) => {
    const event = new ICAL.Event(component);
    const zone = event.startDate.zone;
    return {
      uid: event.uid,
      sequence: event.sequence,
      status: component.getFirstPropertyValue("status"),
      tzid: zone ? zone.tzid : null,
      start: event.startDate.toJSDate().toISOString(),
      end: event.endDate.toJSDate().toISOString(),
    };
  });
  files.push({ path, method: calendar.getFirstPropertyValue("method"), tzids, events });
}
process.stdout.write(JSON.stringify(files));
