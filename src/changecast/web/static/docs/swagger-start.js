// Starts Swagger UI on #swagger-ui with the OpenAPI document named by its data-openapi-url
// (a file, not an inline script: the page's Content-Security-Policy allows this origin only).
(function () {
  "use strict";
  var root = document.getElementById("swagger-ui");
  window.ui = window.SwaggerUIBundle({
    url: root.getAttribute("data-openapi-url"),
    dom_id: "#swagger-ui",
    deepLinking: true,
  });
})();
