/* The dashboard's charts (Apache ECharts, vendored): one per [id] listed in the JSON block #dashboard-charts, each
   bar or slice linking to the list behind it, like the table under the chart. No inline script (CSP). */
(function () {
  "use strict";
  function draw() {
    var source = document.getElementById("dashboard-charts");
    if (!source || !window.echarts) return;
    var charts = JSON.parse(source.textContent);
    var drawn = [];
    charts.forEach(function (c) {
      var el = document.getElementById(c.id);
      if (!el) return;
      if (!c.values.length) { el.hidden = true; return; }
      var chart = window.echarts.init(el, null, { renderer: "canvas" });
      var option;
      if (c.kind === "pie") {
        option = {
          tooltip: { trigger: "item", renderMode: "richText" },
          series: [{ type: "pie", radius: ["35%", "65%"], label: { formatter: "{b}: {c}" },
                     data: c.labels.map(function (l, i) { return { name: l, value: c.values[i] }; }) }]
        };
      } else {
        option = {
          grid: { left: 8, right: 16, top: 8, bottom: 8, containLabel: true },
          tooltip: { trigger: "axis", renderMode: "richText" },
          xAxis: { type: "value", minInterval: 1 },
          yAxis: { type: "category", data: c.labels, inverse: true, axisLabel: { width: 96, overflow: "truncate" } },
          series: [{ type: "bar", data: c.values, itemStyle: { color: "#c62828" }, label: { show: true, position: "right" } }]
        };
      }
      chart.setOption(option);
      chart.on("click", function (p) {
        var url = c.links[p.dataIndex];
        if (url) window.location.href = url;
      });
      drawn.push(chart);
    });
    window.addEventListener("resize", function () { drawn.forEach(function (ch) { ch.resize(); }); });
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", draw);
  else draw();
})();
