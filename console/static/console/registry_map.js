// The console registry's map: the filtered institutions as circle markers (colour by status), each linking to its
// page. Tiles only when the MAP_TILE_URL setting names a server (same CSP origin); otherwise a blank background.
(function () {
  "use strict";
  function data(id) {
    var node = document.getElementById(id);
    return node ? JSON.parse(node.textContent) : null;
  }
  var COLOURS = { licensed: "#2e7d32", rectifying: "#ef6c00", suspended: "#c62828", revoked: "#6d0000",
    expired: "#c62828", unlicensed: "#8e24aa", applied: "#1565c0", closed: "#757575" };
  function start() {
    var box = document.getElementById("registry-map");
    var points = data("registry-points") || [];
    var config = data("registry-map-config") || {};
    if (!box || typeof L === "undefined") { return; }
    var map = L.map(box, { zoomControl: true, attributionControl: false });
    if (config.tiles) { L.tileLayer(config.tiles, { maxZoom: 18 }).addTo(map); }
    var bounds = [];
    points.forEach(function (p) {
      var marker = L.circleMarker([p.lat, p.lng], { radius: 7, weight: 1, color: "#fff", fillOpacity: 0.9,
        fillColor: COLOURS[p.status] || "#455a64" }).addTo(map);
      var link = document.createElement("a");
      link.href = config.detail.replace("/0/", "/" + p.id + "/");
      link.textContent = p.name + " · " + p.status_label + " · " + p.risk;
      marker.bindPopup(link);
      bounds.push([p.lat, p.lng]);
    });
    if (bounds.length) { map.fitBounds(bounds, { padding: [20, 20], maxZoom: 15 }); }
    else { map.setView([29.70, 107.39], 11); }  // Fuling
    box.setAttribute("data-points", String(points.length));
  }
  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", start); } else { start(); }
})();
