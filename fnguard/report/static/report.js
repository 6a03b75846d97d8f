/* fnguard report: threshold explorer and charts.
 *
 * Every value comes from the JSON document in #fnguard-data. Data is written to the page only
 * through textContent and setAttribute, never innerHTML; strings handed to Plotly (which reads
 * a few HTML tags in text) are escaped first.
 */
(function () {
  "use strict";

  var DATA = JSON.parse(document.getElementById("fnguard-data").textContent);
  var C = DATA.curve;
  var N = C.thresholds.length;
  var NPOS = DATA.n_positive;
  var NNEG = DATA.n_negative;
  var START = DATA.start;

  var COLORS = {
    curve: "#3b6ea8",
    positive: "#e3672b",
    negative: "#3b6ea8",
    slider: "#c62828",
    operating: "#222222",
    recall: "#2e7d32",
    precision: "#3b6ea8",
    fpr: "#c62828",
    f1: "#7b1fa2",
    grid: "#e6e6e6"
  };
  var FONT = "system-ui, -apple-system, 'Segoe UI', Roboto, 'Helvetica Neue', Arial, sans-serif";
  var CONFIG = {
    displaylogo: false,
    responsive: true,
    modeBarButtonsToRemove: ["select2d", "lasso2d", "autoScale2d"]
  };

  /* Plotly renders <b>, <br>, <a> ... inside text: escape every string that comes from data. */
  function esc(s) {
    return String(s).replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
  }

  /* A ratio with a zero denominator is 0, as in scikit-learn and fnguard.metrics. */
  function ratio(num, den) {
    return den === 0 ? 0 : num / den;
  }

  function metricsAt(i) {
    var tp = C.tp[i], fp = C.fp[i], tn = C.tn[i], fn = C.fn[i];
    var recall = ratio(tp, tp + fn);
    var specificity = ratio(tn, tn + fp);
    var mccDen = Math.sqrt((tp + fp) * (tp + fn)) * Math.sqrt((tn + fp) * (tn + fn));
    return {
      tp: tp, fp: fp, tn: tn, fn: fn,
      recall: recall,
      fnr: ratio(fn, tp + fn),
      precision: ratio(tp, tp + fp),
      specificity: specificity,
      fpr: ratio(fp, fp + tn),
      f1: ratio(2 * tp, 2 * tp + fn + fp),
      f2: ratio(5 * tp, 5 * tp + 4 * fn + fp),
      mcc: ratio(tp * tn - fp * fn, mccDen),
      balanced_accuracy: (recall + specificity) / 2,
      accuracy: ratio(tp + tn, tp + fp + tn + fn)
    };
  }

  function fmtThreshold(t) {
    if (t === null) return "above every score";
    var a = Math.abs(t);
    if (a !== 0 && (a < 1e-4 || a >= 1e6)) return t.toExponential(4);
    return String(Number(t.toPrecision(6)));
  }

  function setNumber(id, value) {
    var el = document.getElementById(id);
    if (!el) return;
    el.textContent = value.toFixed(4);
    el.setAttribute("data-value", String(value));
  }

  function setCount(id, value) {
    var el = document.getElementById(id);
    el.textContent = value.toLocaleString("en-US");
    el.setAttribute("data-value", String(value));
  }

  var LIVE = {
    "m-recall": "recall", "m-fnr": "fnr", "m-precision": "precision", "m-fpr": "fpr",
    "m-specificity": "specificity", "m-f1": "f1", "m-f2": "f2", "m-mcc": "mcc",
    "m-balanced-accuracy": "balanced_accuracy", "m-accuracy": "accuracy"
  };

  function updateText(i) {
    var t = C.thresholds[i];
    var out = document.getElementById("threshold-value");
    /* The operating row holds the counts of the operating threshold: show that value. */
    out.textContent = i === START && t !== null
      ? "score \u2265 " + fmtThreshold(DATA.threshold) + " (operating threshold)"
      : (t === null ? "" : "score \u2265 ") + fmtThreshold(t);
    out.setAttribute("data-value", t === null ? "inf" : String(t));
    out.setAttribute("data-index", String(i));
    var m = metricsAt(i);
    setCount("cm-tp", m.tp);
    setCount("cm-fp", m.fp);
    setCount("cm-tn", m.tn);
    setCount("cm-fn", m.fn);
    Object.keys(LIVE).forEach(function (id) { setNumber(id, m[LIVE[id]]); });
  }

  /* ---- chart data ---- */
  var finite = [];  // rows with a finite threshold (every row but the first)
  for (var r = 0; r < N; r++) if (C.thresholds[r] !== null) finite.push(r);
  function col(rows, f) { return rows.map(f); }
  var all = [];
  for (var k = 0; k < N; k++) all.push(k);

  function recallAt(i) { return ratio(C.tp[i], NPOS); }
  function precisionAt(i) { return ratio(C.tp[i], C.tp[i] + C.fp[i]); }
  function fprAt(i) { return ratio(C.fp[i], NNEG); }
  function f1At(i) { return ratio(2 * C.tp[i], 2 * C.tp[i] + C.fn[i] + C.fp[i]); }
  function hoverThreshold(i) { return "threshold " + fmtThreshold(C.thresholds[i]); }

  function baseLayout(title, xTitle, yTitle) {
    return {
      title: {
        text: title, font: { size: 15 }, x: 0, xanchor: "left", xref: "paper",
        y: 1, yanchor: "top", yref: "container", pad: { t: 10 }
      },
      font: { family: FONT, size: 12, color: "#222" },
      margin: { l: 58, r: 16, t: 66, b: 48 },
      xaxis: { title: { text: xTitle }, gridcolor: COLORS.grid, zeroline: false },
      yaxis: { title: { text: yTitle }, gridcolor: COLORS.grid, zeroline: false },
      legend: { orientation: "h", x: 0, y: 1.01, xanchor: "left", yanchor: "bottom" },
      hovermode: "closest",
      paper_bgcolor: "rgba(0,0,0,0)",
      plot_bgcolor: "#fff",
      shapes: []
    };
  }

  function vline(x, color, dash, visible) {
    return {
      type: "line", xref: "x", yref: "paper", x0: x, x1: x, y0: 0, y1: 1,
      line: { color: color, width: 2, dash: dash }, visible: visible
    };
  }

  /* Where a vertical threshold line goes; the +inf row sits at the right end of the axis. */
  function lineX(i) {
    var t = C.thresholds[i];
    return t === null ? null : t;
  }

  var opPointPR = START === 0 ? [null, null] : [recallAt(START), precisionAt(START)];

  var charts = [];

  function plotPR() {
    var el = document.getElementById("chart-pr");
    var rows = finite;
    var layout = baseLayout("Precision-recall curve", "Recall", "Precision");
    layout.xaxis.range = [-0.02, 1.02];
    layout.yaxis.range = [-0.02, 1.05];
    var prevalence = ratio(NPOS, NPOS + NNEG);
    layout.shapes.push({
      type: "line", xref: "paper", yref: "y", x0: 0, x1: 1, y0: prevalence, y1: prevalence,
      line: { color: "#999", width: 1, dash: "dot" }
    });
    Plotly.newPlot(el, [
      {
        x: col(rows, recallAt), y: col(rows, precisionAt), text: col(rows, hoverThreshold),
        type: "scatter", mode: "lines", name: "model", line: { color: COLORS.curve, width: 2 },
        hovertemplate: "recall %{x:.4f}<br>precision %{y:.4f}<br>%{text}<extra></extra>"
      },
      {
        x: [opPointPR[0]], y: [opPointPR[1]], type: "scatter", mode: "markers",
        name: "operating threshold", marker: { symbol: "diamond", size: 11, color: COLORS.operating },
        hovertemplate: "operating threshold<br>recall %{x:.4f}<br>precision %{y:.4f}<extra></extra>"
      },
      {
        x: [null], y: [null], type: "scatter", mode: "markers", name: "slider",
        marker: { size: 12, color: COLORS.slider, line: { color: "#fff", width: 2 } },
        hovertemplate: "slider<br>recall %{x:.4f}<br>precision %{y:.4f}<extra></extra>"
      }
    ], layout, CONFIG);
    charts.push(el);
    return el;
  }

  function plotROC() {
    var el = document.getElementById("chart-roc");
    var layout = baseLayout("ROC curve", "False positive rate", "True positive rate (recall)");
    layout.xaxis.range = [-0.02, 1.02];
    layout.yaxis.range = [-0.02, 1.05];
    Plotly.newPlot(el, [
      {
        x: [0, 1], y: [0, 1], type: "scatter", mode: "lines", name: "chance",
        line: { color: "#999", width: 1, dash: "dot" }, hoverinfo: "skip"
      },
      {
        x: col(all, fprAt), y: col(all, recallAt), text: col(all, hoverThreshold),
        type: "scatter", mode: "lines", name: "model", line: { color: COLORS.curve, width: 2 },
        hovertemplate: "FPR %{x:.4f}<br>TPR %{y:.4f}<br>%{text}<extra></extra>"
      },
      {
        x: [fprAt(START)], y: [recallAt(START)], type: "scatter", mode: "markers",
        name: "operating threshold", marker: { symbol: "diamond", size: 11, color: COLORS.operating },
        hovertemplate: "operating threshold<br>FPR %{x:.4f}<br>TPR %{y:.4f}<extra></extra>"
      },
      {
        x: [null], y: [null], type: "scatter", mode: "markers", name: "slider",
        marker: { size: 12, color: COLORS.slider, line: { color: "#fff", width: 2 } },
        hovertemplate: "slider<br>FPR %{x:.4f}<br>TPR %{y:.4f}<extra></extra>"
      }
    ], layout, CONFIG);
    charts.push(el);
    return el;
  }

  function plotMetrics() {
    var el = document.getElementById("chart-metrics");
    var rows = finite;
    var x = col(rows, function (i) { return C.thresholds[i]; });
    var layout = baseLayout("Metrics against the threshold", "Threshold (" + esc(DATA.score_name) + " \u2265 t)", "Value");
    layout.yaxis.range = [-0.02, 1.05];
    if (DATA.probability) layout.xaxis.range = [0, 1];
    layout.shapes.push(vline(lineX(START), COLORS.operating, "dot", START !== 0));
    layout.shapes.push(vline(null, COLORS.slider, "solid", false));
    function line(name, f, color) {
      return {
        x: x, y: col(rows, f), type: "scatter", mode: "lines", name: name,
        line: { color: color, width: 2, shape: "hv" },
        hovertemplate: name + " %{y:.4f}<br>threshold %{x:.6g}<extra></extra>"
      };
    }
    Plotly.newPlot(el, [
      line("recall", recallAt, COLORS.recall),
      line("precision", precisionAt, COLORS.precision),
      line("FPR", fprAt, COLORS.fpr),
      line("F1", f1At, COLORS.f1)
    ], layout, CONFIG);
    charts.push(el);
    return el;
  }

  function plotHistogram() {
    var el = document.getElementById("chart-hist");
    var h = DATA.histogram;
    var centers = [], widths = [];
    for (var b = 0; b + 1 < h.edges.length; b++) {
      centers.push((h.edges[b] + h.edges[b + 1]) / 2);
      widths.push(h.edges[b + 1] - h.edges[b]);
    }
    function share(counts, total) { return counts.map(function (c) { return ratio(c, total); }); }
    var layout = baseLayout("Scores per class", esc(DATA.score_name), "Share of the class");
    layout.barmode = "overlay";
    layout.bargap = 0;
    layout.yaxis.tickformat = ".0%";
    layout.shapes.push(vline(DATA.threshold, COLORS.operating, "dot", true));
    layout.shapes.push(vline(null, COLORS.slider, "solid", false));
    function bars(name, counts, total, color) {
      return {
        x: centers, y: share(counts, total), width: widths, customdata: counts, type: "bar",
        name: esc(name), marker: { color: color, opacity: 0.55, line: { width: 0 } },
        hovertemplate: "%{fullData.name}<br>score %{x:.4g}<br>%{customdata} rows (%{y:.1%})<extra></extra>"
      };
    }
    Plotly.newPlot(el, [
      bars("negative (" + DATA.negative + ")", h.negative, NNEG, COLORS.negative),
      bars("positive (" + DATA.positive + ")", h.positive, NPOS, COLORS.positive)
    ], layout, CONFIG);
    charts.push(el);
    return el;
  }

  function plotReliability() {
    var el = document.getElementById("chart-reliability");
    if (!el) return null;
    var c = DATA.calibration;
    var layout = baseLayout("Reliability diagram", "Mean score in bin", "Fraction of positives");
    layout.xaxis.range = [-0.02, 1.02];
    layout.yaxis.range = [-0.02, 1.05];
    var plus = c.fraction_positive.map(function (f, j) { return c.high[j] - f; });
    var minus = c.fraction_positive.map(function (f, j) { return f - c.low[j]; });
    Plotly.newPlot(el, [
      {
        x: [0, 1], y: [0, 1], type: "scatter", mode: "lines", name: "perfectly calibrated",
        line: { color: "#999", width: 1, dash: "dot" }, hoverinfo: "skip"
      },
      {
        x: c.mean_score, y: c.fraction_positive, customdata: c.count, type: "scatter",
        mode: "lines+markers", name: "model", line: { color: COLORS.curve, width: 2 },
        marker: { size: 8, color: COLORS.curve },
        error_y: { type: "data", symmetric: false, array: plus, arrayminus: minus, color: COLORS.curve, thickness: 1.2, width: 4 },
        hovertemplate: "mean score %{x:.4f}<br>fraction positive %{y:.4f}<br>%{customdata} rows<extra></extra>"
      }
    ], layout, CONFIG);
    charts.push(el);
    return el;
  }

  /* ---- requirements: chosen operating points and expected cost ---- */
  var DECISIONS = DATA.decisions || [];
  var DECISION_COLOR = "#6a1b9a";

  function plotDecisions() {
    if (!DECISIONS.length) return;
    var labels = DECISIONS.map(function (d) { return esc(d.label); });
    var marker = { symbol: "star", size: 14, color: DECISION_COLOR, line: { color: "#fff", width: 1 } };
    Plotly.addTraces(document.getElementById("chart-pr"), {
      x: DECISIONS.map(function (d) { return d.recall; }),
      y: DECISIONS.map(function (d) { return d.precision; }),
      text: labels, type: "scatter", mode: "markers", name: "requirements", marker: marker,
      hovertemplate: "%{text}<br>recall %{x:.4f}<br>precision %{y:.4f}<extra></extra>"
    });
    Plotly.addTraces(document.getElementById("chart-roc"), {
      x: DECISIONS.map(function (d) { return d.fpr; }),
      y: DECISIONS.map(function (d) { return d.recall; }),
      text: labels, type: "scatter", mode: "markers", name: "requirements", marker: marker,
      hovertemplate: "%{text}<br>FPR %{x:.4f}<br>TPR %{y:.4f}<extra></extra>"
    });
    var withCost = DECISIONS.filter(function (d) { return d.costs; });
    if (!withCost.length) return;
    var panel = document.getElementById("cost-panel");
    panel.hidden = false;
    var el = document.getElementById("chart-cost");
    var layout = baseLayout("Expected cost per case against the threshold",
      "Threshold (" + esc(DATA.score_name) + " \u2265 t)", "Expected cost per case");
    if (DATA.probability) layout.xaxis.range = [0, 1];
    var n = NPOS + NNEG;
    var traces = [];
    withCost.forEach(function (d) {
      var c = d.costs;
      function costAt(i) { return (c.fn * C.fn[i] + c.fp * C.fp[i] + c.tp * C.tp[i] + c.tn * C.tn[i]) / n; }
      traces.push({
        x: col(finite, function (i) { return C.thresholds[i]; }), y: col(finite, costAt),
        type: "scatter", mode: "lines", name: esc(d.label), line: { width: 2, shape: "hv" },
        hovertemplate: "cost %{y:.4g}<br>threshold %{x:.6g}<extra></extra>"
      });
      if (C.thresholds[d.start] !== null) {
        traces.push({
          x: [C.thresholds[d.start]], y: [costAt(d.start)], type: "scatter", mode: "markers",
          name: "chosen: " + esc(d.label), marker: marker,
          hovertemplate: "chosen threshold %{x:.6g}<br>cost %{y:.4g}<extra></extra>"
        });
      }
    });
    Plotly.newPlot(el, traces, layout, CONFIG);
    charts.push(el);
  }

  /* ---- wiring ---- */
  var slider = document.getElementById("threshold-slider");
  var pending = null;

  function updateCharts(i) {
    var pr = document.getElementById("chart-pr");
    var roc = document.getElementById("chart-roc");
    var x = lineX(i);
    if (i === 0) {
      Plotly.restyle(pr, { x: [[null]], y: [[null]] }, [2]);
    } else {
      Plotly.restyle(pr, { x: [[recallAt(i)]], y: [[precisionAt(i)]] }, [2]);
    }
    Plotly.restyle(roc, { x: [[fprAt(i)]], y: [[recallAt(i)]] }, [3]);
    var line = { "shapes[1].x0": x, "shapes[1].x1": x, "shapes[1].visible": x !== null };
    Plotly.relayout(document.getElementById("chart-metrics"), line);
    Plotly.relayout(document.getElementById("chart-hist"), line);
  }

  function onInput() {
    var i = parseInt(slider.value, 10);
    updateText(i);
    if (pending === null) {
      pending = window.requestAnimationFrame(function () {
        pending = null;
        updateCharts(parseInt(slider.value, 10));
      });
    }
  }

  slider.value = String(START);
  updateText(START);
  slider.addEventListener("input", onInput);
  slider.addEventListener("change", onInput);
  document.getElementById("threshold-reset").addEventListener("click", function () {
    slider.value = String(START);
    onInput();
  });
  Array.prototype.forEach.call(document.querySelectorAll(".goto-decision"), function (b) {
    b.addEventListener("click", function () {
      var d = DECISIONS[parseInt(b.getAttribute("data-index"), 10)];
      if (!d) return;
      slider.value = String(d.start);
      onInput();
    });
  });

  if (typeof Plotly === "undefined") return;
  plotMetrics();
  plotPR();
  plotROC();
  plotHistogram();
  plotReliability();
  plotDecisions();
  updateCharts(START);

  window.addEventListener("beforeprint", function () {
    charts.forEach(function (el) { Plotly.Plots.resize(el); });
  });
})();
