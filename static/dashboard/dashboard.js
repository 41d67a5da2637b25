/* Draws the dashboard's plotly figures; the specs come from the page (json_script #dashboard-charts). */
(function () {
  "use strict";
  function draw() {
    var node = document.getElementById("dashboard-charts");
    if (!node || !window.Plotly) return;
    var figures = JSON.parse(node.textContent);
    var config = { displaylogo: false, responsive: true, locale: "zh-CN", modeBarButtonsToRemove: ["lasso2d", "select2d"] };
    Object.keys(figures).forEach(function (id) {
      var element = document.getElementById(id);
      if (element) {
        window.Plotly.newPlot(element, figures[id].data, figures[id].layout, config);
        element.setAttribute("data-drawn", "1");
      }
    });
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", draw);
  } else {
    draw();
  }
})();
