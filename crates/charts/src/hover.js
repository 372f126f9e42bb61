// hashpivot chart tooltips: shows the data-tip of the chart element under the pointer.
(function () {
  if (window.__hpTips) return;
  window.__hpTips = true;
  var tip = null;
  function box() {
    if (!tip) {
      tip = document.createElement('div');
      tip.className = 'hp-tip';
      tip.setAttribute('role', 'tooltip');
      document.body.appendChild(tip);
    }
    return tip;
  }
  function place(ev) {
    var t = box();
    var x = ev.clientX + 14, y = ev.clientY + 14;
    var r = t.getBoundingClientRect();
    if (x + r.width > window.innerWidth - 8) x = ev.clientX - r.width - 14;
    if (y + r.height > window.innerHeight - 8) y = ev.clientY - r.height - 14;
    t.style.left = Math.max(4, x) + 'px';
    t.style.top = Math.max(4, y) + 'px';
  }
  document.addEventListener('mousemove', function (ev) {
    var el = ev.target && ev.target.closest ? ev.target.closest('[data-tip]') : null;
    var t = box();
    if (!el) { t.style.display = 'none'; return; }
    var text = el.getAttribute('data-tip');
    if (t.textContent !== text) t.textContent = text;
    t.style.display = 'block';
    place(ev);
  });
  document.addEventListener('mouseleave', function () { if (tip) tip.style.display = 'none'; });
})();
