/* fnguard Guard report: sortable tables.
 *
 * Click a heading of a table.sortable to sort its rows by that column; click again to reverse.
 * Numeric columns sort by the cell's data-sort attribute (empty last). Rows are moved, never
 * rewritten: no data is written to the page by this script.
 */
(function () {
  "use strict";

  function key(cell, numeric) {
    if (!cell) return numeric ? null : "";
    if (numeric) {
      var raw = cell.getAttribute("data-sort");
      if (raw === null || raw === "") return null;
      var v = parseFloat(raw);
      return isNaN(v) ? null : v;
    }
    return cell.textContent.trim().toLowerCase();
  }

  function sortBy(table, th, index) {
    var numeric = th.getAttribute("data-type") === "num";
    var ascending = th.getAttribute("aria-sort") !== "ascending";
    Array.prototype.forEach.call(table.tHead.rows[0].cells, function (h) {
      h.removeAttribute("aria-sort");
    });
    th.setAttribute("aria-sort", ascending ? "ascending" : "descending");
    var body = table.tBodies[0];
    var rows = Array.prototype.slice.call(body.rows).map(function (row, i) {
      return { row: row, i: i, k: key(row.cells[index], numeric) };
    });
    rows.sort(function (a, b) {
      if (a.k === null && b.k === null) return a.i - b.i;
      if (a.k === null) return 1;  // empty cells last, whichever the direction
      if (b.k === null) return -1;
      var c = a.k < b.k ? -1 : (a.k > b.k ? 1 : 0);
      return (ascending ? c : -c) || a.i - b.i;
    });
    rows.forEach(function (r) { body.appendChild(r.row); });
  }

  Array.prototype.forEach.call(document.querySelectorAll("table.sortable"), function (table) {
    if (!table.tHead || !table.tBodies.length) return;
    Array.prototype.forEach.call(table.tHead.rows[0].cells, function (th, index) {
      th.setAttribute("tabindex", "0");
      th.addEventListener("click", function () { sortBy(table, th, index); });
      th.addEventListener("keydown", function (e) {
        if (e.key === "Enter" || e.key === " ") { e.preventDefault(); sortBy(table, th, index); }
      });
    });
  });
})();
