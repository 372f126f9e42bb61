// hashpivot dashboard: scenario editor, run results, run list and history. Vanilla JS, no build
// step; charts are SVG rendered by the server (the same module as the report).
(function () {
  'use strict';
  var app = document.getElementById('app');

  // Units and hints shown beside the scenario fields.
  var UNITS = {
    'run.horizon_years': 'years', 'run.paths': 'Monte Carlo paths', 'chain.difficulty': '',
    'chain.hashrate_ehs': 'EH/s (empty: from difficulty)', 'chain.epoch_elapsed_days': 'days (empty: from height)',
    'price.spot': 'USD/BTC', 'price.drift': 'per year', 'price.vol': 'per √year',
    'fees.btc_per_block': 'BTC', 'fees.speed': 'per year', 'fees.vol': 'per √year',
    'hashrate.speed_up': 'per year', 'hashrate.speed_down': 'per year', 'hashrate.vol': 'per √year',
    'hashrate.marginal_efficiency_jth': 'J/TH', 'hashrate.efficiency_decline': 'per year',
    'hashrate.efficiency_floor_jth': 'J/TH', 'hashrate.marginal_power_usd_mwh': '$/MWh',
    'site.power_mw': 'MW', 'site.power_usd_mwh': '$/MWh', 'site.power_escalator': 'per year',
    'site.terminal_multiple': '× last year', 'mining.overhead': 'PUE', 'mining.uptime': 'share',
    'mining.pool_fee': 'share', 'mining.opex_usd_per_mw_month': '$/MW-month',
    'mining.salvage_usd_per_th': '$/TH', 'mining.refresh_every_years': 'years (0 = never)',
    'mining.hw_days_of_hashprice': 'days', 'mining.discount_rate': 'per year',
    'ai.it_mw_per_gross_mw': 'MW IT per MW', 'ai.capex_usd_per_mw_it': '$/MW IT', 'ai.build_months': 'months',
    'ai.lease_usd_per_kw_month': '$/kW-month', 'ai.lease_escalator': 'per year', 'ai.lease_term_years': 'years',
    'ai.renewal_probability': 'share', 'ai.tenant_default_rate': 'per year', 'ai.noi_margin': 'share',
    'ai.discount_rate': 'per year', 'ai.lease_drift': 'per year', 'ai.lease_vol': 'per √year',
    'ai.lease_price_corr': '−1 … 1', 'strategy.share': '0 … 1', 'strategy.tranches': 'slices',
    'strategy.decide_months': 'months', 'strategy.schedule': '[[day, share], …]', 'strategy.shares': '[share, …]',
    // MODEL.md §8–11: conversion risks, GPU cloud, project debt, currency.
    'ai.build_delay_months': 'months (mean; 0 = none)', 'ai.capex_overrun': 'share of capex', 'ai.capex_overrun_vol': 'log-volatility',
    'ai.backstop_months': 'months', 'ai.relet_months': 'months (−1 = never)',
    'cloud.gpu_capex_usd_per_mw_it': '$/MW IT', 'cloud.revenue_usd_per_mw_it_year': '$/MW IT per year', 'cloud.utilization': 'share',
    'cloud.opex_share': 'share of revenue', 'cloud.gpu_life_years': 'years', 'cloud.contract_years': 'years',
    'cloud.price_drift': 'per year', 'cloud.price_vol': 'per √year', 'cloud.discount_rate': 'per year',
    'finance.ltc': 'share of capex', 'finance.debt_rate': 'per year', 'finance.tenor_years': 'years',
    'finance.cost_of_equity': 'per year', 'finance.min_dscr': '× debt service'
  };
  var INTEGER = { 'run.paths': 1, 'run.seed': 1, 'chain.height': 1, 'strategy.tranches': 1, 'strategy.decide_months': 1 };
  var OPTIONAL = { 'chain.hashrate_ehs': 1, 'chain.epoch_elapsed_days': 1 };
  var TABLE_TITLES = { run: 'Run', chain: 'Chain', price: 'Market: BTC price', fees: 'Market: fees',
    hashrate: 'Network hashrate', site: 'Site', mining: 'Mining fleet', ai: 'AI/HPC conversion', strategy: 'Strategy',
    cloud: 'GPU cloud (ai.mode = cloud)', finance: 'Financing (project debt)' };
  var ORDER = ['strategy', 'site', 'mining', 'ai', 'cloud', 'finance', 'price', 'fees', 'hashrate', 'chain', 'run'];
  // Tables a scenario may leave out; the editor adds them with their defaults and removes them.
  var OPTIONAL_TABLES = ['cloud', 'finance'];
  // Keys chosen from a list (a select); booleans are checkboxes.
  var CHOICES = { 'ai.mode': ['lease', 'cloud'], 'run.currency': ['usd', 'btc'] };
  // Human labels; the scenario key is shown beside each as a hint.
  var LABELS = {
    'run.horizon_years': 'Horizon', 'run.paths': 'Paths', 'run.seed': 'Random seed',
    'chain.height': 'Block height today', 'chain.difficulty': 'Difficulty today', 'chain.hashrate_ehs': 'Network hashrate today',
    'chain.epoch_elapsed_days': 'Days into the difficulty epoch',
    'price.spot': 'BTC price today', 'price.drift': 'BTC price drift', 'price.vol': 'BTC price volatility',
    'fees.btc_per_block': 'Fees per block', 'fees.speed': 'Fee mean reversion', 'fees.vol': 'Fee volatility',
    'hashrate.speed_up': 'Hashrate growth when profitable', 'hashrate.speed_down': 'Hashrate exit when unprofitable',
    'hashrate.vol': 'Hashrate volatility', 'hashrate.marginal_efficiency_jth': 'Marginal miner efficiency',
    'hashrate.efficiency_decline': 'Efficiency improvement', 'hashrate.efficiency_floor_jth': 'Efficiency floor',
    'hashrate.marginal_power_usd_mwh': 'Marginal miner power price', 'hashrate.power_share': 'Power share of miner costs',
    'site.power_mw': 'Site power', 'site.power_usd_mwh': 'Power price', 'site.power_escalator': 'Power price escalator',
    'site.terminal_multiple': 'Terminal value multiple', 'mining.overhead': 'Overhead (PUE)', 'mining.uptime': 'Uptime',
    'mining.pool_fee': 'Pool fee', 'mining.curtail': 'Curtail when unprofitable', 'mining.opex_usd_per_mw_month': 'Opex',
    'mining.salvage_usd_per_th': 'Salvage value', 'mining.refresh_every_years': 'Fleet refresh every',
    'mining.hw_days_of_hashprice': 'New machine price', 'mining.discount_rate': 'Mining discount rate',
    'ai.it_mw_per_gross_mw': 'IT MW per gross MW', 'ai.capex_usd_per_mw_it': 'Conversion capex', 'ai.build_months': 'Build time',
    'ai.lease_usd_per_kw_month': 'Lease rate', 'ai.lease_escalator': 'Lease escalator', 'ai.lease_term_years': 'Lease term',
    'ai.renewal_probability': 'Renewal probability', 'ai.tenant_default_rate': 'Tenant default rate', 'ai.noi_margin': 'NOI margin',
    'ai.discount_rate': 'AI discount rate', 'ai.lease_drift': 'Lease market drift', 'ai.lease_vol': 'Lease market volatility',
    'ai.lease_price_corr': 'Lease–BTC correlation', 'strategy.kind': 'Strategy', 'strategy.share': 'Share to convert',
    'strategy.schedule': 'Conversion schedule', 'strategy.shares': 'Shares to compare', 'strategy.tranches': 'Slices (optimal)',
    'strategy.decide_months': 'Decision window (optimal)',
    'ai.mode': 'What the hall earns', 'ai.build_delay_months': 'Build delay', 'ai.capex_overrun': 'Capex overrun',
    'ai.capex_overrun_vol': 'Capex overrun volatility', 'ai.mine_during_build': 'Keep mining during the build',
    'ai.default_events': 'Tenant default as events', 'ai.backstop_months': 'Rent backstop after a default',
    'ai.relet_months': 'Re-let after', 'run.currency': 'Currency of the results',
    'cloud.gpu_capex_usd_per_mw_it': 'GPU capex', 'cloud.revenue_usd_per_mw_it_year': 'Compute revenue',
    'cloud.utilization': 'Utilization', 'cloud.opex_share': 'Opex', 'cloud.gpu_life_years': 'GPU life',
    'cloud.contract_years': 'Fixed-price contract', 'cloud.refresh': 'Buy new GPUs at end of life',
    'cloud.price_drift': 'GPU price drift', 'cloud.price_vol': 'GPU price volatility', 'cloud.discount_rate': 'Cloud discount rate',
    'finance.ltc': 'Loan to cost', 'finance.debt_rate': 'Debt rate', 'finance.tenor_years': 'Loan tenor',
    'finance.cost_of_equity': 'Cost of equity', 'finance.min_dscr': 'DSCR covenant', 'finance.fund_gpus': 'Loan also funds GPUs'
  };
  // Shown rounded to 7 significant digits; the exact value is kept unless the field is edited.
  function rounded(v) {
    if (typeof v !== 'number' || !isFinite(v) || v === 0) return String(v);
    var t = Number(v.toPrecision(7));
    return String(t);
  }
  var STRATEGIES = ['mine', 'convert', 'schedule', 'sweep', 'optimal'];

  function el(tag, attrs, children) {
    var e = document.createElement(tag);
    if (attrs) Object.keys(attrs).forEach(function (k) {
      if (k === 'text') e.textContent = attrs[k];
      else if (k === 'html') e.innerHTML = attrs[k];
      else if (k.slice(0, 2) === 'on') e.addEventListener(k.slice(2), attrs[k]);
      else e.setAttribute(k, attrs[k]);
    });
    (children || []).forEach(function (c) { if (c) e.appendChild(typeof c === 'string' ? document.createTextNode(c) : c); });
    return e;
  }
  // A server started with --token answers 401 until the token is known. The token is sent once
  // to /api/session, which answers with a session cookie (HttpOnly, a random id: EventSource and
  // chart fetches carry it) and the session's CSRF token, kept in sessionStorage (this origin
  // only) and sent in X-CSRF-Token on every request that changes something.
  function askToken() {
    var t = window.prompt('This hashpivot server needs its access token (hashpivot serve --token):');
    if (!t) return Promise.resolve(false);
    return fetch('/api/session', { method: 'POST', body: '{}', headers: { Authorization: 'Bearer ' + t, 'Content-Type': 'application/json' } })
      .then(function (r) {
        if (r.status !== 200) return r.ok;
        return r.json().then(function (j) { sessionStorage.setItem('hp-csrf', j.csrf); return true; });
      }, function () { return false; });
  }
  function answer(r) {
    return r.text().then(function (t) {
      var j = null;
      try { j = t ? JSON.parse(t) : null; } catch (e) { j = { error: t }; }
      return { status: r.status, ok: r.ok, body: j };
    });
  }
  function api(method, url, body, retried) {
    var opt = { method: method, headers: {} };
    if (body !== undefined) { opt.body = JSON.stringify(body); opt.headers['Content-Type'] = 'application/json'; }
    var csrf = sessionStorage.getItem('hp-csrf');
    if (csrf && method !== 'GET') opt.headers['X-CSRF-Token'] = csrf;
    return fetch(url, opt).then(function (r) {
      // 403 on the CSRF header: the session is gone (server restarted); ask for the token again.
      var lost = r.status === 403 && method !== 'GET' && !retried;
      if (lost) return askToken().then(function (ok) { return ok ? api(method, url, body, true) : answer(r); });
      if (r.status !== 401 || retried) return answer(r);
      return askToken().then(function (ok) { return ok ? api(method, url, body, true) : answer(r); });
    });
  }
  function usd(x) {
    if (x === null || x === undefined || !isFinite(x)) return '–';
    var a = Math.abs(x), s = x < 0 ? '-' : '';
    if (a >= 1e9) return s + '$' + (a / 1e9).toFixed(2) + 'B';
    if (a >= 1e6) return s + '$' + (a / 1e6).toFixed(2) + 'M';
    if (a >= 1e3) return s + '$' + (a / 1e3).toFixed(1) + 'k';
    return s + '$' + a.toFixed(0);
  }
  function pct(x) { return (x === null || x === undefined || !isFinite(x)) ? '–' : (x * 100).toFixed(1) + '%'; }
  function setNav(name) {
    document.querySelectorAll('[data-nav]').forEach(function (a) {
      a.classList.toggle('active', a.getAttribute('data-nav') === name);
    });
  }
  function label(r) {
    var name = r.label || r.strategy || '?';
    if (!r.label && typeof r.share === 'number' && name !== 'mine' && name !== 'optimal') {
      var p = r.share * 100;
      name += ' ' + (Math.abs(p - Math.round(p)) < 1e-9 ? Math.round(p) : p.toFixed(1)) + '%';
    }
    return name;
  }

  // ------------------------------------------------------------------ scenario editor
  var form = null; // { template: the scenario the form was built from }
  var machines = {}; // the ASIC catalog by model name

  function fieldId(key) { return 'f-' + key.replace(/[^a-zA-Z0-9]+/g, '-'); }

  function scalarInput(key, value) {
    var input;
    if (typeof value === 'boolean') {
      input = el('input', { type: 'checkbox', id: fieldId(key), 'data-key': key });
      input.checked = value;
    } else if (key === 'strategy.kind' || CHOICES[key]) {
      input = el('select', { id: fieldId(key), 'data-key': key });
      (CHOICES[key] || STRATEGIES).forEach(function (s) { input.appendChild(el('option', { value: s, text: s })); });
      input.value = value;
    } else if (Array.isArray(value) || (value !== null && typeof value === 'object')) {
      input = el('input', { type: 'text', id: fieldId(key), 'data-key': key, 'data-json': '1' });
      input.value = JSON.stringify(value);
    } else if (typeof value === 'string') {
      input = el('input', { type: 'text', id: fieldId(key), 'data-key': key });
      input.value = value;
    } else {
      input = el('input', { type: 'number', step: 'any', id: fieldId(key), 'data-key': key });
      input.value = value === null ? '' : rounded(value);
      if (value !== null && input.value !== String(value)) { input.setAttribute('data-exact', String(value)); input.setAttribute('data-shown', input.value); }
      if (value === null) input.placeholder = 'default';
    }
    return input;
  }

  // The conversion schedule ([[day, share], …]) as an editable table; a hidden field carries the
  // JSON the form reads, so validation and the run see the same value.
  function scheduleTable(rows) {
    var hidden = el('input', { type: 'hidden', id: fieldId('strategy.schedule'), 'data-key': 'strategy.schedule', 'data-json': '1' });
    var body = el('tbody');
    function sync() {
      var v = [];
      body.querySelectorAll('tr').forEach(function (tr) {
        var d = tr.querySelector('[data-sched="day"]').value, sh = tr.querySelector('[data-sched="share"]').value;
        v.push([d.trim() === '' ? NaN : Number(d), sh.trim() === '' ? NaN : Number(sh) / 100]);
      });
      var bad = v.some(function (p) { return !isFinite(p[0]) || !isFinite(p[1]); });
      hidden.value = bad ? 'not a number' : JSON.stringify(v);
      schedule();
    }
    function addRow(p) {
      var tr = el('tr');
      var day = el('input', { type: 'number', step: '1', min: '0', 'data-sched': 'day', 'aria-label': 'day' });
      var share = el('input', { type: 'number', step: 'any', min: '0', max: '100', 'data-sched': 'share', 'aria-label': 'share converted, %' });
      day.value = p[0]; share.value = rounded(p[1] * 100);
      day.addEventListener('input', sync); share.addEventListener('input', sync);
      tr.appendChild(el('td', null, [day]));
      tr.appendChild(el('td', null, [share]));
      tr.appendChild(el('td', null, [el('button', { type: 'button', class: 'small', 'aria-label': 'remove step', text: '×', onclick: function () { tr.remove(); sync(); } })]));
      body.appendChild(tr);
    }
    rows.forEach(addRow);
    hidden.value = JSON.stringify(rows);
    rows = rows.slice();
    var table = el('table', { class: 'fleet', id: 'schedule' }, [el('thead', null, [el('tr', null, [el('th', { text: 'day' }), el('th', { text: 'share converted that day, %' }), el('th')])]), body]);
    var lab = el('label', { for: 'schedule-add' }, [LABELS['strategy.schedule'] || 'schedule', el('span', { class: 'unit', text: ' steps: day from today, share of the site converted then (at most 100 % in all)' }), el('code', { class: 'key', text: 'strategy.schedule' })]);
    return el('div', { class: 'field fleet-field' }, [lab, el('div', null, [table, hidden,
      el('button', { type: 'button', class: 'small', id: 'schedule-add', text: '+ add step', onclick: function () {
        var last = rows.length ? rows[rows.length - 1] : [0, 0];
        addRow([Number(last[0]) + 365, 0]); sync(); } })]),
      el('span', { class: 'err', 'data-err-for': 'strategy.schedule' })]);
  }

  function fleetTable(rows) {
    var table = el('table', { class: 'fleet', id: 'fleet' });
    table.appendChild(el('thead', null, [el('tr', null, [el('th', { text: 'model' }), el('th', { text: 'units' }),
      el('th', { text: 'TH/s each' }), el('th', { text: 'W each' }), el('th')])]));
    var body = el('tbody');
    table.appendChild(body);
    function addRow(b) {
      var i = body.children.length;
      var tr = el('tr');
      ['model', 'units', 'hashrate_ths', 'power_w'].forEach(function (k) {
        var inp = el('input', { type: k === 'model' ? 'text' : 'number', step: 'any', 'data-fleet': k });
        if (k === 'model') inp.setAttribute('list', 'machines');
        inp.value = b[k] === undefined ? '' : b[k];
        inp.addEventListener('input', schedule);
        if (k === 'model') inp.addEventListener('change', function () {
          // Picking a catalog model fills in its nameplate hashrate and power.
          var m = machines[inp.value];
          if (!m) return;
          tr.querySelector('[data-fleet="hashrate_ths"]').value = m.hashrate_ths;
          tr.querySelector('[data-fleet="power_w"]').value = m.power_w;
          schedule();
        });
        tr.appendChild(el('td', null, [inp, el('span', { class: 'err', 'data-err-fleet': k })]));
      });
      tr.appendChild(el('td', null, [el('button', { class: 'small', type: 'button', text: '✕', title: 'remove',
        onclick: function () { tr.remove(); renumber(); schedule(); } })]));
      body.appendChild(tr);
      renumber();
      return i;
    }
    function renumber() {
      Array.prototype.forEach.call(body.children, function (tr, i) {
        tr.querySelectorAll('[data-fleet]').forEach(function (inp) { inp.setAttribute('data-key', 'mining.fleet[' + i + '].' + inp.getAttribute('data-fleet')); });
        tr.querySelectorAll('[data-err-fleet]').forEach(function (s) { s.setAttribute('data-err-for', 'mining.fleet[' + i + '].' + s.getAttribute('data-err-fleet')); });
      });
    }
    rows.forEach(addRow);
    var list = el('datalist', { id: 'machines' });
    api('GET', '/api/machines').then(function (res) {
      (res.body || []).forEach(function (m) {
        machines[m.model] = m;
        list.appendChild(el('option', { value: m.model, text: m.hashrate_ths + ' TH/s, ' + m.power_w + ' W' }));
      });
    });
    table.appendChild(list);
    var add = el('button', { type: 'button', class: 'small', text: '+ add batch', onclick: function () {
      addRow({ model: 'Antminer S21', units: 1000, hashrate_ths: 200, power_w: 3500 }); schedule(); } });
    return el('div', null, [table, add, el('div', { class: 'err', 'data-err-for': 'mining.fleet' })]);
  }

  function readForm() {
    // Returns { scenario, problems } where problems are local parse errors by key.
    var sc = JSON.parse(JSON.stringify(form.template));
    var problems = {};
    document.querySelectorAll('#editor [data-key]').forEach(function (inp) {
      var key = inp.getAttribute('data-key');
      if (key.indexOf('mining.fleet[') === 0) return;
      var parts = key.split('.');
      var t = parts[0], k = parts[1], v;
      if (inp.type === 'checkbox') v = inp.checked;
      else if (inp.tagName === 'SELECT') v = inp.value;
      else if (inp.getAttribute('data-json')) {
        try { v = JSON.parse(inp.value); } catch (e) { problems[key] = 'not valid JSON: ' + e.message; return; }
      } else if (inp.type === 'number') {
        if (inp.value.trim() === '') {
          if (OPTIONAL[key]) { delete sc[t][k]; return; }
          problems[key] = 'a number is required'; return;
        }
        v = Number(inp.value);
        if (inp.getAttribute('data-shown') === inp.value) v = Number(inp.getAttribute('data-exact'));
        if (!isFinite(v)) { problems[key] = inp.value + ' is not a number'; return; }
        if (INTEGER[key] && (v < 0 || Math.floor(v) !== v)) { problems[key] = inp.value + ' is not a whole number ≥ 0'; return; }
      } else v = inp.value;
      sc[t][k] = v;
    });
    var fleet = [];
    document.querySelectorAll('#fleet tbody tr').forEach(function (tr, i) {
      var b = {};
      tr.querySelectorAll('[data-fleet]').forEach(function (inp) {
        var k = inp.getAttribute('data-fleet');
        if (k === 'model') { b[k] = inp.value; return; }
        var v = Number(inp.value);
        if (inp.value.trim() === '' || !isFinite(v)) problems['mining.fleet[' + i + '].' + k] = 'a number is required';
        b[k] = v;
      });
      fleet.push(b);
    });
    sc.mining.fleet = fleet;
    return { scenario: sc, problems: problems };
  }

  function showErrors(errs, fromRun) {
    // A validation answer can arrive after the page changed.
    if (!document.getElementById('editor')) return;
    document.querySelectorAll('#editor [data-err-for]').forEach(function (s) { s.textContent = ''; });
    document.querySelectorAll('#editor .bad').forEach(function (i) { i.classList.remove('bad'); });
    var unplaced = [];
    errs.forEach(function (e) {
      var key = e.key.replace(/^scenario\./, '');
      var span = document.querySelector('#editor [data-err-for="' + key + '"]');
      if (!span && /^strategy\.schedule/.test(key)) span = document.querySelector('#editor [data-err-for="strategy.schedule"]');
      if (!span && /^strategy\.shares/.test(key)) span = document.querySelector('#editor [data-err-for="strategy.shares"]');
      var input = document.querySelector('#editor [data-key="' + key + '"]');
      if (input) input.classList.add('bad');
      if (span) span.textContent = (span.textContent ? span.textContent + '; ' : '') + e.message;
      else unplaced.push(key + ': ' + e.message);
    });
    var box = document.getElementById('errors');
    var status = document.getElementById('valid');
    box.textContent = unplaced.join('\n');
    status.textContent = errs.length ? (fromRun ? 'The server refused the run: ' : '') + errs.length + ' problem' + (errs.length > 1 ? 's' : '') + ' — see the fields marked in red' : 'scenario is valid';
    status.className = errs.length ? 'status-bad' : 'status-ok';
    var runBtn = document.getElementById('run');
    runBtn.disabled = errs.length > 0;
    if (errs.length) runBtn.title = 'fix the problems first'; else runBtn.removeAttribute('title');
  }

  var timer = null;
  // The server's answer to the last Run click, kept (and shown) for as long as the scenario is
  // the one it refused: a later "valid" from the editor's own check never hides it.
  var runRefusal = null;
  function schedule() { clearTimeout(timer); timer = setTimeout(validate, 250); }
  function validate() {
    var r = readForm();
    var local = Object.keys(r.problems).map(function (k) { return { key: k, message: r.problems[k] }; });
    var refused = [];
    if (runRefusal && runRefusal.scenario === JSON.stringify(r.scenario)) refused = runRefusal.errors;
    else runRefusal = null;
    derived(r.scenario);
    // Fields with a local problem keep their last good value in r.scenario, so the server still
    // checks everything else: both kinds of error are shown together.
    return api('POST', '/api/scenario/validate', r.scenario).then(function (res) {
      var server = !res.ok ? [{ key: (res.body && res.body.field) || 'scenario', message: res.body ? res.body.error : 'error' }]
        : res.body.errors.filter(function (e) { return !r.problems[e.key]; })
          .map(function (e) { return { key: e.key, message: 'allowed ' + e.allowed + ' (got ' + e.value + ')' }; });
      var all = local.concat(server, refused);
      showErrors(all, refused.length > 0);
      return all.length === 0;
    });
  }

  function startRun() {
    var r = readForm();
    var btn = document.getElementById('run');
    btn.disabled = true;
    var req = { scenario: r.scenario, strategy: r.scenario.strategy.kind, share: r.scenario.strategy.share,
      paths: r.scenario.run.paths, sensitivity: document.getElementById('sensitivity').checked };
    api('POST', '/api/runs', req).then(function (res) {
      if (res.status === 201) { go('/runs/' + res.body.id); return; }
      btn.disabled = false;
      var f = (res.body && res.body.field) || '';
      var errs = (res.body && res.body.errors) ? res.body.errors.map(function (e) { return { key: e.key, message: 'allowed ' + e.allowed + ' (got ' + e.value + ')' }; })
        : [{ key: f.replace(/^paths$/, 'run.paths').replace(/^share$/, 'strategy.share'), message: res.body ? res.body.error : 'HTTP ' + res.status }];
      runRefusal = { scenario: JSON.stringify(r.scenario), errors: errs };
      clearTimeout(timer);
      showErrors(errs, true);
    });
  }

  function loadToml(ev) {
    var f = ev.target.files && ev.target.files[0];
    if (!f) return;
    f.text().then(function (text) {
      var h = { 'Content-Type': 'application/toml' };
      var csrf = sessionStorage.getItem('hp-csrf');
      if (csrf) h['X-CSRF-Token'] = csrf;
      return fetch('/api/scenario/validate', { method: 'POST', headers: h, body: text })
        .then(function (r) { return r.json().then(function (j) { return { ok: r.ok, body: j }; }); });
    }).then(function (res) {
      if (!res.ok) { document.getElementById('file-errors').textContent = f.name + ': ' + res.body.error; return; }
      sessionStorage.setItem('hp-scenario', JSON.stringify(res.body.scenario));
      renderEditor();
    });
  }

  function saveToml() {
    var r = readForm();
    api('POST', '/api/scenario/validate', r.scenario).then(function (res) {
      if (!res.ok) { document.getElementById('file-errors').textContent = res.body.error; return; }
      var a = el('a', { href: URL.createObjectURL(new Blob([res.body.toml], { type: 'application/toml' })), download: 'scenario.toml' });
      document.body.appendChild(a); a.click(); a.remove();
    });
  }

  function renderEditor() {
    setNav('editor');
    var saved = sessionStorage.getItem('hp-scenario');
    var load = saved ? Promise.resolve(JSON.parse(saved)) : api('GET', '/api/scenario/default').then(function (r) { return r.body; });
    sessionStorage.removeItem('hp-scenario');
    // The defaults of the optional tables and of keys a file may leave out (the server's).
    var optional = api('GET', '/api/scenario/optional').then(function (r) { return r.ok ? r.body : { tables: {}, keys: {} }; });
    return Promise.all([load, optional]).then(function (both) {
      var sc = both[0], opt = both[1];
      // Optional keys the file may leave out: offer them as empty fields.
      Object.keys(OPTIONAL).forEach(function (key) {
        var p = key.split('.');
        if (sc[p[0]] && !(p[1] in sc[p[0]])) sc[p[0]][p[1]] = null;
      });
      // Keys whose default the file form leaves out (`run.currency = "usd"`): shown with it.
      Object.keys(opt.keys || {}).forEach(function (key) {
        var p = key.split('.');
        if (sc[p[0]] && !(p[1] in sc[p[0]])) sc[p[0]][p[1]] = opt.keys[key];
      });
      form = { template: sc };
      app.innerHTML = '';
      var tables = el('div', { class: 'tables' });
      ORDER.concat(Object.keys(sc).filter(function (t) { return ORDER.indexOf(t) < 0; })).forEach(function (t) {
        var v = sc[t];
        var optionalTable = OPTIONAL_TABLES.indexOf(t) >= 0 && (opt.tables || {})[t];
        if ((v === null || v === undefined) && optionalTable) { tables.appendChild(addTableBox(t, opt.tables[t])); return; }
        if (v === null || typeof v !== 'object' || Array.isArray(v)) return;
        var fs = el('fieldset', { id: 'table-' + t }, [el('legend', { text: TABLE_TITLES[t] || '[' + t + ']' })]);
        if (optionalTable) fs.appendChild(el('button', { type: 'button', class: 'small', id: 'remove-table-' + t, text: '− remove [' + t + ']',
          onclick: function () { editTables(function (s) { delete s[t]; }); } }));
        Object.keys(v).forEach(function (k) {
          var key = t + '.' + k;
          if (key === 'mining.fleet') { fs.appendChild(fleetTable(v[k])); return; }
          if (key === 'strategy.schedule' && Array.isArray(v[k])) { fs.appendChild(scheduleTable(v[k])); return; }
          var input = scalarInput(key, v[k]);
          input.addEventListener('input', schedule);
          input.addEventListener('change', schedule);
          var lab = el('label', { for: input.id }, [LABELS[key] || k.replace(/_/g, ' ')]);
          if (UNITS[key]) lab.appendChild(el('span', { class: 'unit', text: ' ' + UNITS[key] }));
          lab.appendChild(el('code', { class: 'key', text: key }));
          fs.appendChild(el('div', { class: 'field' }, [lab, input, el('span', { class: 'err', 'data-err-for': key })]));
        });
        tables.appendChild(fs);
      });
      var side = el('div', { class: 'side' }, [el('div', { class: 'card' }, [
        el('h2', { text: 'Run this scenario' }),
        el('p', { class: 'hint', text: 'Strategy, share and paths are taken from the Strategy and Run tables. The mine strategy is always included for comparison.' }),
        el('label', null, [el('input', { type: 'checkbox', id: 'sensitivity', checked: 'checked' }), ' sensitivity (tornado) of NPV to the main inputs']),
        el('p', null, [el('button', { class: 'primary', id: 'run', type: 'button', text: 'Run simulation', onclick: startRun })]),
        el('p', { id: 'valid', role: 'status', 'aria-live': 'polite' }),
        el('dl', { class: 'derived', id: 'derived' }),
        el('div', { class: 'errors-box', id: 'errors' }),
        el('h2', { text: 'Scenario file' }),
        el('p', null, [
          el('label', { class: 'hint', for: 'load-toml', text: 'Load a TOML file: ' }),
          el('input', { type: 'file', id: 'load-toml', accept: '.toml,text/plain', onchange: loadToml })]),
        el('p', null, [el('button', { type: 'button', id: 'save-toml', text: 'Save as TOML', onclick: saveToml }), ' ',
          el('a', { href: '/api/scenario/default?format=toml', text: 'default (annotated)' })]),
        el('div', { class: 'errors-box', id: 'file-errors' })
      ])]);
      app.appendChild(el('h1', { text: 'Scenario' }));
      app.appendChild(marketPanel());
      app.appendChild(el('div', { class: 'editor', id: 'editor' }, [side, tables]));
      validate();
    });
  }

  // An optional table the scenario leaves out: a box that adds it with its defaults.
  function addTableBox(t, defaults) {
    return el('fieldset', { id: 'table-' + t, class: 'absent' }, [el('legend', { text: TABLE_TITLES[t] || '[' + t + ']' }),
      el('p', { class: 'hint', text: t === 'finance' ? 'Absent: the conversions are unlevered (no debt, no equity view).' : 'Absent: the defaults apply when ai.mode = cloud.' }),
      el('button', { type: 'button', class: 'small', id: 'add-table-' + t, text: '+ add [' + t + '] with its defaults',
        onclick: function () { editTables(function (s) { s[t] = JSON.parse(JSON.stringify(defaults)); }); } })]);
  }
  // Adds or removes a table: the form as it stands, changed by `f`, shown again.
  function editTables(f) {
    var r = readForm();
    f(r.scenario);
    sessionStorage.setItem('hp-scenario', JSON.stringify(r.scenario));
    renderEditor();
  }

  // Today's market from the shipped data: what the default scenario starts from.
  function marketPanel() {
    var card = el('section', { class: 'card market', id: 'market', 'aria-label': 'market today' }, [el('h2', { text: 'Market today (shipped data)' })]);
    api('GET', '/api/market').then(function (res) {
      if (!res.ok) { card.appendChild(el('p', { class: 'status-bad', text: (res.body && res.body.error) || 'HTTP ' + res.status })); return; }
      var m = res.body;
      var eta = function (e) { return 'block ' + e.height.toLocaleString('en-US') + ', in ' + e.blocks.toLocaleString('en-US') + ' blocks (~' + e.date + ')'; };
      var rows = [['Hashprice', '$' + m.hashprice_usd_per_ph_day.toFixed(2) + ' /PH/s/day', 'hashprice', m.hashprice_usd_per_ph_day],
        ['BTC price', '$' + Math.round(m.spot_usd).toLocaleString('en-US') + ' (' + m.price_date + ')', 'spot', m.spot_usd],
        ['Difficulty', (m.difficulty / 1e12).toFixed(2) + ' T' + (m.difficulty_current ? '' : ' (newest known)'), 'difficulty', m.difficulty],
        ['Network hashrate', m.hashrate_ehs.toFixed(0) + ' EH/s', 'hashrate', m.hashrate_ehs],
        ['Next retarget', eta(m.next_retarget), 'retarget', m.next_retarget.height],
        ['Next halving', eta(m.next_halving), 'halving', m.next_halving.height],
        ['Data as of', m.date + ' (' + m.data_age_days + ' days old)', 'age', m.data_age_days]];
      var strip = el('div', { class: 'strip' });
      rows.forEach(function (r) {
        strip.appendChild(el('div', { class: 'fig' }, [el('span', { class: 'k', text: r[0] }), el('b', { 'data-market': r[2], 'data-value': String(r[3]), text: r[1] })]));
      });
      card.appendChild(strip);
      if (m.data_age_days > 30) card.appendChild(el('p', { class: 'hint', text: 'The shipped data is over a month old: `hashpivot data sync` and `calibrate` bring it up to date.' }));
    });
    return card;
  }

  // ------------------------------------------------------------------ machine payback
  function renderPayback() {
    setNav('payback');
    app.innerHTML = '';
    app.appendChild(el('h1', { text: 'Machine payback' }));
    var sel = el('select', { id: 'pb-machine' });
    var price = el('input', { type: 'number', id: 'pb-price', min: '0.01', max: '10000', step: '0.5', value: '15' });
    var paths = el('input', { type: 'number', id: 'pb-paths', min: '1', max: '5000', step: '100', value: '1000' });
    var out = el('div', { id: 'pb-out', 'aria-live': 'polite' });
    var btn = el('button', { type: 'button', class: 'primary', id: 'pb-run', text: 'Price it' });
    app.appendChild(el('div', { class: 'card' }, [
      el('p', { class: 'hint', text: 'One machine bought today and run like the site\'s fleet (uptime, pool fee, power price, curtailment, opex of the default scenario), sold at salvage at the end of its life; priced on the scenario\'s Monte Carlo paths.' }),
      el('div', { class: 'field' }, [el('label', { for: 'pb-machine', text: 'Machine' }), sel]),
      el('div', { class: 'field' }, [el('label', { for: 'pb-price' }, ['Price ', el('span', { class: 'unit', text: '$ per TH/s' })]), price]),
      el('div', { class: 'field' }, [el('label', { for: 'pb-paths' }, ['Paths ', el('span', { class: 'unit', text: '1–5,000' })]), paths]),
      el('p', null, [btn])]));
    app.appendChild(out);
    var machines = [];
    function go2() {
      var m = machines[Number(sel.value)];
      if (!m) return null;
      btn.disabled = true;
      out.innerHTML = '';
      out.appendChild(el('p', { class: 'hint', text: 'Pricing…' }));
      var q = '?hashrate_ths=' + m.hashrate_ths + '&power_w=' + m.power_w + '&price_usd_per_th=' + encodeURIComponent(price.value) + '&paths=' + encodeURIComponent(paths.value);
      return api('GET', '/api/payback' + q).then(function (res) {
        btn.disabled = false;
        out.innerHTML = '';
        if (!res.ok) { out.appendChild(el('div', { class: 'card status-bad', id: 'pb-error', text: (res.body && res.body.error) || 'HTTP ' + res.status })); return; }
        var o = res.body;
        var days = function (v) { return v === null || v === undefined ? 'never' : Math.round(v) + ' days'; };
        var irr = function (v) { return v === null || v === undefined ? '–' : (v * 100).toFixed(1) + '%'; };
        var rows = [['Price paid', usd(o.price_usd), 'price', o.price_usd],
          ['Payback time (p5 / median / p95)', days(o.payback_days.p5) + ' / ' + days(o.payback_days.p50) + ' / ' + days(o.payback_days.p95), 'payback', o.payback_days.p50],
          ['IRR per year (p5 / median / p95)', irr(o.irr.p5) + ' / ' + irr(o.irr.p50) + ' / ' + irr(o.irr.p95), 'irr', o.irr.p50],
          ['NPV (mean; p5 – p95)', usd(o.npv_usd.mean) + '; ' + usd(o.npv_usd.p5) + ' – ' + usd(o.npv_usd.p95), 'npv', o.npv_usd.mean],
          ['P(pays back before the next halving)', pct(o.prob_payback_before_halving), 'halving', o.prob_payback_before_halving],
          ['P(pays back within its life, ' + (o.life_days / 365).toFixed(1) + ' years)', pct(o.prob_payback_before_end_of_life), 'life', o.prob_payback_before_end_of_life],
          ['P(NPV < 0)', pct(o.prob_npv_negative), 'loss', o.prob_npv_negative]];
        var t = el('table', { class: 'results', id: 'pb-table' }, [el('tbody', null, rows.map(function (r) {
          return el('tr', { 'data-pb': r[2], 'data-value': String(r[3]) }, [el('th', { text: r[0] }), el('td', { text: r[1] })]);
        }))]);
        out.appendChild(el('div', { class: 'card scroll' }, [el('h2', { text: m.model + ' at $' + price.value + '/TH' }), t,
          el('p', { class: 'hint', text: o.paths + ' paths, seed ' + o.seed + '.' })]));
      });
    }
    btn.addEventListener('click', go2);
    return api('GET', '/api/machines').then(function (res) {
      machines = (res.body || []).slice().sort(function (a, b) { return a.efficiency_jth - b.efficiency_jth; });
      machines.forEach(function (m, i) {
        sel.appendChild(el('option', { value: String(i), text: m.model + ' — ' + m.hashrate_ths + ' TH/s, ' + m.efficiency_jth.toFixed(1) + ' J/TH' }));
      });
      return go2();
    });
  }

  // ------------------------------------------------------------------ dispatch
  // Hour-by-hour curtailment of the scenario's fleet against shipped ERCOT prices (the CLI's
  // `hashpivot dispatch`): the server computes; the page shows its figures and charts.
  function renderDispatch() {
    setNav('dispatch');
    app.innerHTML = '';
    app.appendChild(el('h1', { text: 'Dispatch: curtailment against hourly prices' }));
    var saved = sessionStorage.getItem('hp-dispatch-scenario');
    var prices = el('input', { type: 'text', id: 'dp-prices', value: 'ercot:HB_WEST:2024', 'aria-describedby': 'dp-prices-hint' });
    var credit = el('input', { type: 'number', id: 'dp-credit', min: '0', max: '10000', step: '1', value: '0' });
    var minrun = el('input', { type: 'number', id: 'dp-minrun', min: '1', max: '168', step: '1', value: '1' });
    var hp = el('input', { type: 'number', id: 'dp-hashprice', min: '0', step: '0.5', placeholder: 'scenario' });
    var btn = el('button', { type: 'button', class: 'primary', id: 'dp-run', text: 'Run dispatch' });
    var out = el('div', { id: 'dp-out', 'aria-live': 'polite' });
    app.appendChild(el('div', { class: 'card' }, [
      el('p', { class: 'hint', text: (saved ? 'The fleet, overhead, availability, pool fee and market state of the scenario in the editor' : 'The default scenario\'s fleet and market state') + ', run hour by hour: a batch is switched off whenever the power costs more than it earns (MODEL.md §4).' }),
      el('div', { class: 'field' }, [el('label', { for: 'dp-prices', text: 'Hourly prices' }), prices,
        el('span', { class: 'hint', id: 'dp-prices-hint', text: 'ercot:HUB:YEAR or ercot:HUB:FIRST-LAST, 2021–2025, hubs HB_* and zones LZ_*' })]),
      el('div', { class: 'field' }, [el('label', { for: 'dp-hashprice' }, ['Hashprice ', el('span', { class: 'unit', text: '$ per PH/s per day (empty: the scenario\'s)' })]), hp]),
      el('div', { class: 'field' }, [el('label', { for: 'dp-credit' }, ['Demand-response credit ', el('span', { class: 'unit', text: '$ per MWh curtailed' })]), credit]),
      el('div', { class: 'field' }, [el('label', { for: 'dp-minrun' }, ['Minimum run time ', el('span', { class: 'unit', text: 'hours' })]), minrun]),
      el('p', null, [btn])]));
    app.appendChild(out);
    function query() {
      var q = '?prices=' + encodeURIComponent(prices.value.trim()) + '&credit_usd_mwh=' + encodeURIComponent(credit.value) + '&min_run_hours=' + encodeURIComponent(minrun.value);
      if (hp.value !== '') q += '&hashprice=' + encodeURIComponent(hp.value);
      return q;
    }
    function runIt() {
      btn.disabled = true;
      out.innerHTML = '';
      out.appendChild(el('p', { class: 'hint', text: 'Dispatching…' }));
      var q = query();
      var req = saved ? api('POST', '/api/dispatch' + q, JSON.parse(saved)) : api('GET', '/api/dispatch' + q);
      return req.then(function (res) {
        btn.disabled = false;
        out.innerHTML = '';
        if (!res.ok) { out.appendChild(el('div', { class: 'card status-bad', id: 'dp-error', role: 'alert', text: (res.body && res.body.error) || 'HTTP ' + res.status })); return; }
        var d = res.body, t = d.site, f = d.flat_contract.site;
        var rows = [['Hours', d.hours.toLocaleString('en-US'), 'hours', d.hours],
          ['Mean price', '$' + d.prices.mean_usd_mwh.toFixed(2) + '/MWh', 'mean_price', d.prices.mean_usd_mwh],
          ['Price range', '$' + d.prices.min_usd_mwh.toFixed(0) + ' to $' + d.prices.max_usd_mwh.toFixed(0) + '/MWh', 'price_range', d.prices.max_usd_mwh],
          ['Hashprice', '$' + d.hashprice.usd_per_ph_day.toFixed(2) + '/PH/s/day', 'hashprice', d.hashprice.usd_per_ph_day],
          ['Uptime', pct(t.uptime), 'uptime', t.uptime],
          ['Energy curtailed', Math.round(t.curtailed_mwh).toLocaleString('en-US') + ' MWh', 'curtailed_mwh', t.curtailed_mwh],
          ['Average price paid', '$' + t.avg_price_usd_mwh.toFixed(2) + '/MWh', 'avg_price', t.avg_price_usd_mwh],
          ['Margin with curtailment', usd(t.margin_usd), 'margin', t.margin_usd],
          ['Margin running every hour', usd(t.flat_out_margin_usd), 'flat_out_margin', t.flat_out_margin_usd],
          ['Curtailment savings', usd(t.curtailment_savings_usd), 'savings', t.curtailment_savings_usd],
          ['Demand-response credits', usd(t.credits_usd), 'credits', t.credits_usd],
          ['Margin, flat $' + d.flat_contract.price_usd_mwh + '/MWh', usd(f.margin_usd), 'flat_margin', f.margin_usd]];
        var table = el('table', { class: 'results', id: 'dp-table' }, [el('tbody', null, rows.map(function (r) {
          return el('tr', { 'data-dp': r[2], 'data-value': String(r[3]) }, [el('th', { text: r[0] }), el('td', { text: r[1] })]);
        }))]);
        var gain = t.margin_usd - t.flat_out_margin_usd;
        out.appendChild(el('div', { class: 'card scroll' }, [el('h2', { text: 'Site over ' + d.prices.source }), table,
          el('p', { class: 'why', id: 'dp-why', text: 'Curtailing when power costs more than the machines earn adds ' + usd(gain) + ' to the margin of running every hour over these ' + d.hours.toLocaleString('en-US') + ' hours.' })]));
        var charts = el('div', { class: 'charts' });
        [['duration', d.charts.duration], ['curtailment', d.charts.curtailment], ['savings', d.charts.savings]].forEach(function (c) {
          var fig = el('figure', { id: 'chart-dp-' + c[0], 'data-chart-name': c[0] });
          fig.innerHTML = c[1];
          charts.appendChild(fig);
        });
        out.appendChild(charts);
        var mt = el('table', { class: 'results', id: 'dp-months' }, [el('thead', null, [el('tr', null,
          ['month', 'hours', 'mean price', 'uptime', 'curtailed MWh', 'savings', 'credits', 'margin'].map(function (h) { return el('th', { text: h }); }))])]);
        mt.appendChild(el('tbody', null, d.months.map(function (m) {
          var s = m.site;
          return el('tr', { 'data-month': m.month }, [el('td', { text: m.month }), el('td', { text: String(m.hours) }), el('td', { text: '$' + m.mean_price_usd_mwh.toFixed(2) }),
            el('td', { text: pct(s.uptime) }), el('td', { 'data-field': 'curtailed_mwh', 'data-value': String(s.curtailed_mwh), text: Math.round(s.curtailed_mwh).toLocaleString('en-US') }),
            el('td', { text: usd(s.curtailment_savings_usd) }), el('td', { text: usd(s.credits_usd) }), el('td', { text: usd(s.margin_usd) })]);
        })));
        out.appendChild(el('div', { class: 'card scroll' }, [el('h2', { text: 'By month' }), mt,
          el('p', { class: 'hint', text: 'Each month dispatched on its own: with a minimum run time above 1 hour, schedules restart at month boundaries.' })]));
      });
    }
    btn.addEventListener('click', runIt);
    return runIt();
  }

  // ------------------------------------------------------------------ leases
  function renderLeases() {
    setNav('leases');
    app.innerHTML = '';
    app.appendChild(el('h1', { text: 'AI/HPC leases' }));
    var rate = Number(sessionStorage.getItem('hp-lease-rate')) || null;
    var input = el('input', { type: 'number', id: 'lease-rate', min: '0', max: '10000', step: '1', 'aria-describedby': 'lease-phrase' });
    var phrase = el('p', { id: 'lease-phrase', class: 'why', role: 'status', 'aria-live': 'polite' });
    var fig = el('figure', { id: 'chart-leases', 'data-chart-name': 'leases' });
    var holder = el('div', { class: 'card scroll', id: 'leases-holder' });
    app.appendChild(el('div', { class: 'card' }, [el('p', null, [el('label', { for: 'lease-rate', text: 'Your lease rate, $/kW-month ' }), input]), phrase,
      el('p', { class: 'hint', text: 'Average rate over each deal\'s term, from the announced contract value, MW of IT load and term (data/ai_hpc/announced_leases.csv; one source per row).' })]));
    app.appendChild(el('div', { class: 'charts' }, [fig]));
    app.appendChild(holder);
    function show(r) {
      var q = r === null ? '' : '?rate=' + encodeURIComponent(r);
      return api('GET', '/api/leases' + q).then(function (res) {
        if (!res.ok) { phrase.textContent = (res.body && res.body.error) || 'HTTP ' + res.status; phrase.className = 'status-bad'; return null; }
        var v = res.body;
        // Always show the rate the answer is for (opened after the editor, the box was empty);
        // a value being typed that already equals it is left alone.
        if (Number(input.value) !== v.rate || input.value === '') input.value = String(v.rate);
        phrase.className = 'why';
        phrase.textContent = '$' + v.rate.toFixed(0) + '/kW-month is ' + v.phrase + (v.median ? ' (median $' + v.median.toFixed(0) + ').' : '.');
        var t = el('table', { class: 'results', id: 'leases-table' }, [el('thead', null, [el('tr', null,
          ['miner', 'deal', 'tenant', 'MW (IT)', 'term, years', 'contract value', '$/kW-month', 'announced', 'grade'].map(function (h) { return el('th', { text: h }); }))])]);
        t.appendChild(el('tbody', null, v.deals.map(function (d) {
          return el('tr', { 'data-rate': String(d.usd_per_kw_month), class: d.usd_per_kw_month > v.rate ? 'above' : '' }, [el('td', { text: d.company }), el('td', { text: d.deal }), el('td', { text: d.tenant }),
            el('td', { text: d.mw_it.toFixed(0) }), el('td', { text: d.term_years.toFixed(1) }), el('td', { text: usd(d.tcv_usd) }),
            el('td', { 'data-field': 'rate', text: '$' + d.usd_per_kw_month.toFixed(1) }), el('td', { text: d.announced }), el('td', { text: d.grade })]);
        })));
        holder.innerHTML = '';
        holder.appendChild(t);
        return fetch('/api/leases/chart.svg?rate=' + v.rate).then(function (x) { return x.text(); }).then(function (svg) { fig.innerHTML = svg; });
      });
    }
    var timer = null;
    input.addEventListener('input', function () {
      clearTimeout(timer);
      var r = Number(input.value);
      if (input.value === '' || !isFinite(r)) return;
      sessionStorage.setItem('hp-lease-rate', String(r));
      timer = setTimeout(function () { show(r); }, 250);
    });
    return show(rate);
  }

  // Figures derived from the scenario as it is edited: the fleet's power and hashrate, and
  // today's hashprice ($ per PH/s per day) from price, difficulty, subsidy and fees.
  function derived(sc) {
    var box = document.getElementById('derived');
    if (!box) return;
    // The leases page places the scenario's own rate among the deals.
    if (sc.ai && isFinite(sc.ai.lease_usd_per_kw_month)) sessionStorage.setItem('hp-lease-rate', String(sc.ai.lease_usd_per_kw_month));
    // The dispatch page studies the fleet of the scenario being edited.
    try { sessionStorage.setItem('hp-dispatch-scenario', JSON.stringify(sc)); } catch (e) { /* full storage: the default scenario is used */ }
    var mw = 0, ths = 0;
    (sc.mining.fleet || []).forEach(function (b) { mw += (b.units * b.power_w) / 1e6; ths += b.units * b.hashrate_ths; });
    var subsidy = 50 / Math.pow(2, Math.floor(sc.chain.height / 210000));
    var hp = sc.price.spot * (subsidy + sc.fees.btc_per_block) * 86400 * 1e15 / (sc.chain.difficulty * 4294967296);
    var rows = [['Fleet power', (mw * (sc.mining.overhead || 1)).toFixed(1) + ' MW of ' + sc.site.power_mw + ' MW', 'fleet-mw'],
      ['Fleet hashrate', (ths / 1e6).toFixed(2) + ' EH/s', 'fleet-ehs'],
      ['Hashprice today', '$' + hp.toFixed(2) + ' /PH/s/day', 'hashprice'],
      ['Revenue per MWh', '$' + (ths > 0 && mw > 0 ? (hp * ths / 1e3 / (mw * 24)).toFixed(0) : '–') + ' at 100% uptime', 'rev-mwh']];
    box.innerHTML = '';
    rows.forEach(function (r) { box.appendChild(el('dt', { text: r[0] })); box.appendChild(el('dd', { id: 'derived-' + r[2], text: r[1] })); });
  }

  // ------------------------------------------------------------------ run page
  // Money in the run's currency: dollars, or bitcoin for a run with run.currency = "btc".
  function btc(x) {
    if (x === null || x === undefined || !isFinite(x)) return '–';
    var a = Math.abs(x), s = x < 0 ? '-' : '';
    return s + (a >= 1e3 ? (a / 1e3).toFixed(2) + 'k' : a.toFixed(a >= 10 ? 1 : 3)) + ' BTC';
  }
  function moneyOf(run) { return run.currency === 'btc' ? btc : usd; }
  function resultsTable(run) {
    var usd = moneyOf(run);
    var t = el('table', { class: 'results', id: 'results-table' });
    t.appendChild(el('thead', null, [el('tr', null, ['strategy', 'NPV mean', '± s.e.', 'p5', 'median', 'p95', 'mining part', 'AI part', 'P(NPV<0)', 'P(< mine)', 'CVaR 5%']
      .map(function (h) { return el('th', { text: h }); }))]));
    var body = el('tbody');
    (run.results || []).forEach(function (r) {
      var npv = r.npv || {};
      function td(v, f, name) { return el('td', { 'data-field': name, 'data-value': String(v), text: f(v) }); }
      body.appendChild(el('tr', { 'data-strategy': label(r) }, [el('td', { text: label(r) }),
        td(npv.mean, usd, 'mean'), td(npv.stderr, usd, 'stderr'), td(npv.p5, usd, 'p5'), td(npv.p50, usd, 'p50'), td(npv.p95, usd, 'p95'),
        td(r.mining_npv_mean, usd, 'mining'), td(r.ai_npv_mean, usd, 'ai'), td(r.prob_negative, pct, 'prob_negative'),
        td(r.prob_below_mine, pct, 'prob_below_mine'), td(r.cvar5, usd, 'cvar5')]));
    });
    t.appendChild(body);
    return t;
  }

  // The equity view of a run with [finance] (MODEL.md §10): the engine's figures, per strategy.
  function equityTable(run) {
    var rows = (run.results || []).filter(function (r) { return r.equity; });
    if (!rows.length) return null;
    var m = moneyOf(run);
    function ratio(x) { return (x === null || x === undefined || !isFinite(x)) ? '–' : x.toFixed(2) + '×'; }
    var t = el('table', { class: 'results', id: 'equity-table' });
    t.appendChild(el('thead', null, [el('tr', null, ['strategy', 'equity NPV mean', '± s.e.', 'p5', 'p95', 'P(equity NPV<0)', 'AI equity part',
      'project IRR p50', 'equity IRR p50', 'DSCR p5', 'P(covenant breach)'].map(function (h) { return el('th', { text: h }); }))]));
    var body = el('tbody');
    rows.forEach(function (r) {
      var e = r.equity, n = e.equity_npv || {};
      function td(v, f, name) { return el('td', { 'data-field': name, 'data-value': String(v), text: f(v) }); }
      body.appendChild(el('tr', { 'data-strategy': label(r) }, [el('td', { text: label(r) }),
        td(n.mean, m, 'equity_npv'), td(n.stderr, m, 'equity_stderr'), td(n.p5, m, 'equity_p5'), td(n.p95, m, 'equity_p95'),
        td(e.prob_negative, pct, 'equity_prob_negative'), td(e.equity_npv_mean_ai, m, 'ai_equity'),
        td(e.project_irr.p50, pct, 'project_irr_p50'), td(e.equity_irr.p50, pct, 'equity_irr_p50'),
        td(e.dscr_min.p5, ratio, 'dscr_p5'), td(e.dscr_min.prob_below_min, pct, 'prob_breach')]));
    });
    t.appendChild(body);
    var cov = rows[0].equity.dscr_min.min_dscr;
    return el('div', { class: 'card', id: 'equity' }, [el('h2', { text: 'Equity view (project debt)' }),
      el('p', { class: 'hint', text: 'Mining plus the levered AI stream, at the cost of equity. IRRs are percentiles over the paths with a root; the DSCR is each path\'s smallest yearly coverage, against the covenant of ' + cov + '×.' }),
      el('div', { class: 'scroll' }, [t])]);
  }

  function money(x) {
    // $1,234 M: the unit analysts read NPVs in.
    if (x === null || x === undefined || !isFinite(x)) return '–';
    var m = Math.round(x / 1e6);
    return (m < 0 ? '-' : '') + '$' + Math.abs(m).toLocaleString('en-US') + ' M';
  }
  function beValue(b, v) {
    if (v === null || v === undefined || !isFinite(v)) return 'no flip in range';
    if (b.input === 'ai.lease_usd_per_kw_month') return '$' + v.toFixed(1) + '/kW-month';
    if (b.input === 'ai.capex_usd_per_mw_it') return '$' + (v / 1e6).toFixed(2) + 'M per MW(IT)';
    return '$' + Math.round(v).toLocaleString('en-US') + '/BTC';
  }
  // The decision card: what to do, by how much it beats mining, and where that flips.
  function decisionCard(id) {
    var card = el('section', { class: 'card decision', id: 'decision', 'aria-live': 'polite' }, [
      el('h2', { text: 'Decision' }), el('p', { class: 'hint', id: 'decision-wait', text: 'Solving the break-even points (the engine re-runs with one input changed at a time)…' })]);
    function fill(d) {
      card.innerHTML = '';
      card.setAttribute('data-ready', '1');
      var dv = d.delta_vs_mine || {};
      card.appendChild(el('h2', { text: 'Decision' }));
      var head = el('div', { class: 'headline' }, [
        el('div', { class: 'fig' }, [el('span', { class: 'k', text: 'Recommended' }), el('b', { 'data-fig': 'recommended', text: d.recommended })]),
        el('div', { class: 'fig' }, [el('span', { class: 'k', text: 'ΔNPV vs mining' }),
          el('b', { 'data-fig': 'delta', 'data-value': String(dv.mean), text: (d.converts ? '+' : '') + money(dv.mean) }),
          el('span', { class: 'se', 'data-fig': 'delta-se', 'data-value': String(dv.stderr), text: '± ' + money(dv.stderr) + ' s.e.' })]),
        el('div', { class: 'fig' }, [el('span', { class: 'k', text: 'P(beats mining)' }),
          el('b', { 'data-fig': 'prob', 'data-value': String(d.prob_beats_mine), text: d.converts ? pct(d.prob_beats_mine) : '–' })]),
        el('div', { class: 'fig' }, [el('span', { class: 'k', text: 'Your lease' }),
          el('b', { 'data-fig': 'lease', text: '$' + d.lease.rate.toFixed(0) + '/kW-month' }),
          el('span', { class: 'se', text: d.lease.phrase + (d.lease.median ? ' (median $' + d.lease.median.toFixed(0) + ')' : '') })])]);
      card.appendChild(head);
      card.appendChild(el('p', { class: 'why', id: 'decision-why', text: d.why }));
      var t = el('table', { class: 'results', id: 'breakeven' }, [el('thead', null, [el('tr', null,
        ['the decision flips when', 'today', 'break-even', 'change', 'then'].map(function (h) { return el('th', { text: h }); }))])]);
      var tb = el('tbody');
      (d.breakeven || []).forEach(function (b) {
        var today = b.hashprice_base ? '$' + b.hashprice_base.toFixed(1) + '/PH/day (' + beValue(b, b.base) + ')' : beValue(b, b.base);
        var be = b.hashprice_value ? '$' + b.hashprice_value.toFixed(1) + '/PH/day (' + beValue(b, b.value) + ')' : beValue(b, b.value);
        tb.appendChild(el('tr', { 'data-input': b.input, 'data-value': String(b.value) }, [
          el('td', { text: b.label + ' goes ' + b.flips_when }), el('td', { text: today }), el('td', { 'data-field': 'value', text: be }),
          el('td', { text: b.relative_change === null || b.relative_change === undefined ? '–' : (b.relative_change * 100 >= 0 ? '+' : '') + (b.relative_change * 100).toFixed(1) + '%' }),
          el('td', { text: b.value === null || b.value === undefined ? '' : (b.flips_to || '') })]));
      });
      t.appendChild(tb);
      card.appendChild(el('div', { class: 'scroll' }, [t]));
      card.appendChild(el('p', { class: 'hint', text: 'Break-even points solved on ' + d.breakeven_paths + ' paths, seed ' + d.seed +
        ': the engine re-run with only that input changed (common random numbers), bracketing then bisection.' }));
      if (d.optimal) {
        var o = d.optimal;
        card.appendChild(el('h3', { text: o.objective === 'equity_npv' ? 'Optimal staging (equity NPV: what the levered policy maximizes)' : 'Optimal staging' }));
        var ot = el('table', { class: 'results', id: 'optimal-bounds' }, [el('tbody', null, [
          ['In-sample value (biased high)', o.in_sample], ['Lower bound: the frozen policy on fresh paths', o.lower_bound],
          ['Upper bound: perfect foresight', o.upper_bound], ['Value of flexibility over the best static share (' + Math.round(o.best_static_share * 100) + '%)', o.value_of_flexibility]
        ].map(function (r) { return el('tr', null, [el('td', { text: r[0] }), el('td', { text: money(r[1].mean) }), el('td', { text: '± ' + money(r[1].stderr) })]); }))]);
        card.appendChild(el('div', { class: 'scroll' }, [ot]));
        var st = el('table', { class: 'results', id: 'optimal-slices' }, [el('thead', null, [el('tr', null,
          ['slice', 'MW', 'P(converted)', 'expected month'].map(function (h) { return el('th', { text: h }); }))])]);
        st.appendChild(el('tbody', null, o.slices.map(function (x) {
          return el('tr', null, [el('td', { text: String(x.slice) }), el('td', { text: x.mw.toFixed(0) }), el('td', { text: pct(x.prob_converted) }),
            el('td', { text: x.mean_conversion_month === null ? 'never' : 'month ' + x.mean_conversion_month.toFixed(1) })]);
        })));
        card.appendChild(el('div', { class: 'scroll' }, [st]));
      }
      (d.notes || []).forEach(function (n) { card.appendChild(el('p', { class: 'hint', text: n })); });
      var fig = el('figure', { class: 'delta-chart', id: 'chart-delta', 'data-chart-name': 'delta' });
      card.appendChild(fig);
      fetch('/api/runs/' + id + '/decision/delta.svg').then(function (r) { return r.ok ? r.text() : ''; }).then(function (svg) { fig.innerHTML = svg; });
      if (d.grid) {
        var gfig = el('figure', { class: 'delta-chart', id: 'chart-grid', 'data-chart-name': 'grid' });
        card.appendChild(gfig);
        fetch('/api/runs/' + id + '/decision/grid.svg').then(function (r) { return r.ok ? r.text() : ''; }).then(function (svg) { gfig.innerHTML = svg; });
      }
    }
    function poll() {
      if (!document.body.contains(card)) return null;
      return api('GET', '/api/runs/' + id + '/decision').then(function (res) {
        if (res.status === 200) { fill(res.body); return null; }
        if (res.status === 202) return new Promise(function (ok) { setTimeout(ok, 1000); }).then(poll);
        card.appendChild(el('p', { class: 'status-bad', text: (res.body && res.body.error) || 'HTTP ' + res.status }));
        return null;
      });
    }
    return { card: card, start: poll };
  }

  function downloads(id, run) {
    var financed = (run.results || []).some(function (r) { return r.equity; });
    var names = ['results', 'cashflow'].concat(financed ? ['equity'] : [], ['bands', 'inputs'], run.sensitivity ? ['sensitivity'] : []);
    var p = el('p', { class: 'downloads', id: 'downloads' }, ['Download: ',
      el('a', { href: '/api/runs/' + id + '/export/workbook.xlsx', download: '', id: 'xlsx', text: 'Excel workbook (every table)' }), ' · CSV: ']);
    names.forEach(function (n, i) {
      if (i) p.appendChild(document.createTextNode(' · '));
      p.appendChild(el('a', { href: '/api/runs/' + id + '/export/' + n + '.csv', download: '', 'data-csv': n, text: n === 'cashflow' ? 'year-by-year cash flow' : n }));
    });
    p.appendChild(document.createTextNode(' · '));
    p.appendChild(el('a', { href: '/api/runs/' + id, download: 'hashpivot-' + id + '.json', text: 'JSON' }));
    return p;
  }

  function renderDone(run, box) {
    box.innerHTML = '';
    var dc = decisionCard(run.id);
    box.appendChild(dc.card);
    dc.start();
    var best = null;
    (run.results || []).forEach(function (r) { if (r.npv && isFinite(r.npv.mean) && (!best || r.npv.mean > best.npv.mean)) best = r; });
    var skipped = ((run.sensitivity || {}).skipped || []).map(function (x) { return 'Sensitivity: ' + x.key + ' left out (' + x.reason + ').'; });
    box.appendChild(el('div', { class: 'card' }, [el('h2', { text: 'Results' }),
      best ? el('p', { id: 'best', html: 'Highest mean NPV: <b>' + label(best) + '</b> at <b>' + moneyOf(run)(best.npv.mean) + '</b> (± ' + moneyOf(run)(best.npv.stderr) + ' standard error).' }) : null,
      el('p', { class: 'hint', id: 'currency-note', text: run.paths + ' paths, seed ' + run.seed + '. NPV in ' + (run.currency === 'btc' ? 'bitcoin (each day\'s cash at that day\'s price)' : 'US dollars') + ', discounted (mining at the mining rate, AI at the AI rate).' }),
      el('div', { class: 'scroll' }, [resultsTable(run)]), downloads(run.id, run)].concat(skipped.map(function (t) { return el('p', { class: 'hint', text: t }); }))));
    var eq = equityTable(run);
    if (eq) box.appendChild(eq);
    var charts = el('div', { class: 'charts', id: 'charts' });
    box.appendChild(el('h2', { text: 'Charts' }));
    box.appendChild(el('p', { class: 'hint', text: 'Hover over a chart to read its values.' }));
    box.appendChild(charts);
    return api('GET', '/api/runs/' + run.id + '/charts').then(function (res) {
      var list = res.body || [];
      return Promise.all(list.map(function (c) {
        var fig = el('figure', { id: 'chart-' + c.name, 'data-chart-name': c.name, class: (c.name === 'npv' || c.name === 'tornado' || c.name === 'irr' || c.name === 'dscr') ? 'wide' : '' });
        charts.appendChild(fig);
        return fetch(c.url).then(function (r) { return r.text(); }).then(function (svg) { fig.innerHTML = svg; });
      }));
    });
  }

  function renderRun(id) {
    setNav('runs');
    app.innerHTML = '';
    var head = el('div', { class: 'card' }, [
      el('h1', null, ['Run ', el('code', { text: id }), ' ', el('span', { class: 'badge', id: 'status', text: '…' })]),
      el('div', { class: 'progress-wrap' }, [el('progress', { id: 'progress', max: '1', value: '0' }), el('span', { id: 'progress-text', text: '0%' })]),
      el('p', { id: 'run-info', class: 'hint' }),
      el('p', { class: 'name-row' }, [el('label', { for: 'run-name', text: 'Name ' }),
        el('input', { type: 'text', id: 'run-name', maxlength: '120', placeholder: 'name this run', 'aria-label': 'run name' }),
        el('button', { type: 'button', class: 'small', id: 'save-name', text: 'save name', onclick: function () {
          api('POST', '/api/runs/' + id + '/name', { name: document.getElementById('run-name').value }).then(function (res) {
            document.getElementById('name-status').textContent = res.ok ? 'saved' : (res.body && res.body.error) || 'HTTP ' + res.status;
          });
        } }), ' ', el('span', { id: 'name-status', class: 'hint', role: 'status' })]),
      el('p', null, [el('a', { href: '/api/runs/' + id, text: 'result JSON' }), ' · ',
        el('a', { href: '#', id: 'edit', text: 'edit this scenario' }), ' · ',
        // DELETE cancels a live run (the page then shows it cancelled) and deletes a finished one.
        el('button', { type: 'button', class: 'small danger', id: 'remove-run', text: 'cancel run', onclick: function () {
          var live = /cancel/.test(document.getElementById('remove-run').textContent);
          removeRun(id, function () { if (live) finish(); else go('/runs'); });
        } })])]);
    var box = el('div', { id: 'run-body' });
    app.appendChild(head);
    app.appendChild(box);
    function status(s, p) {
      var b = document.getElementById('status');
      if (!b) return;
      b.textContent = s; b.className = 'badge ' + s;
      var c = document.getElementById('cancel');
      if (c) c.hidden = !(s === 'queued' || s === 'running');
      document.getElementById('progress').value = p;
      document.getElementById('progress-text').textContent = Math.round(p * 100) + '%';
    }
    function finish() {
      return api('GET', '/api/runs/' + id).then(function (res) {
        var run = res.body;
        if (!res.ok) { box.textContent = run.error; return; }
        if (!document.getElementById('run-info')) return;
        status(run.status, run.progress);
        var r = run.request || {};
        document.getElementById('run-info').textContent = 'strategy ' + r.strategy + (r.strategy === 'mine' ? '' : ', share ' + r.share) +
          ', ' + r.paths + ' paths, created ' + run.created + (run.finished ? ', finished ' + run.finished : '');
        document.getElementById('edit').onclick = function (ev) {
          ev.preventDefault(); sessionStorage.setItem('hp-scenario', JSON.stringify(run.scenario)); go('/');
        };
        document.getElementById('remove-run').textContent = (run.status === 'queued' || run.status === 'running') ? 'cancel run' : 'delete run';
        if (run.status === 'done') return renderDone(run, box);
        if (run.status === 'failed') box.appendChild(el('div', { class: 'card status-bad', id: 'run-error', text: 'The run failed: ' + run.error }));
        if (run.status === 'cancelled') box.appendChild(el('div', { class: 'card', id: 'run-error', text: 'The run was cancelled.' }));
        return null;
      });
    }
    api('GET', '/api/runs/overview?limit=500').then(function (res) {
      var me = (res.body || []).filter(function (r) { return r.id === id; })[0];
      var inp = document.getElementById('run-name');
      if (me && me.name && inp) inp.value = me.name;
    });
    return api('GET', '/api/runs/' + id).then(function (res) {
      if (!res.ok) { box.appendChild(el('div', { class: 'card status-bad', text: res.body.error })); return; }
      status(res.body.status, res.body.progress);
      document.getElementById('remove-run').textContent = (res.body.status === 'queued' || res.body.status === 'running') ? 'cancel run' : 'delete run';
      if (['done', 'failed', 'cancelled'].indexOf(res.body.status) >= 0) return finish();
      var es = new EventSource('/api/runs/' + id + '/events');
      es.addEventListener('progress', function (ev) {
        if (!document.getElementById('status')) { es.close(); return; }
        var d = JSON.parse(ev.data); status(d.status, d.progress);
      });
      es.addEventListener('end', function (ev) { var d = JSON.parse(ev.data); es.close(); status(d.status, d.progress); finish(); });
      es.onerror = function () { es.close(); setTimeout(finish, 500); };
    });
  }

  function removeRun(id, then) {
    var live = /cancel/.test((document.querySelector('[data-remove="' + id + '"]') || document.getElementById('remove-run') || {}).textContent || '');
    if (!window.confirm(live ? 'Cancel run ' + id + '?' : 'Delete run ' + id + ' and its results?')) return;
    api('DELETE', '/api/runs/' + id).then(function (res) {
      if (res.ok) { if (then) then(); return; }
      window.alert((res.body && res.body.error) || 'HTTP ' + res.status);
    });
  }

  var runsTimer = null;
  function renderRuns() {
    setNav('runs');
    app.innerHTML = '';
    app.appendChild(el('h1', { text: 'Runs' }));
    var bar = el('div', { class: 'toolbar' }, [
      el('button', { type: 'button', id: 'compare', class: 'primary', text: 'Compare selected', disabled: 'disabled', onclick: function () {
        var ids = Array.prototype.map.call(document.querySelectorAll('#runs-list input[data-select]:checked'), function (c) { return c.getAttribute('data-select'); });
        go('/runs/compare?ids=' + ids.join(','));
      } }), el('span', { class: 'hint', text: ' Tick two to six finished runs to compare them side by side. The list updates by itself.' })]);
    app.appendChild(bar);
    var holder = el('div', { class: 'scroll card', id: 'runs-holder' });
    app.appendChild(holder);
    var selected = {};
    function draw(rows) {
      if (!document.body.contains(holder)) return;
      holder.innerHTML = '';
      if (!rows.length) { holder.appendChild(el('p', { class: 'muted', html: 'No runs yet: <a href="/">edit a scenario and run it</a>.' })); return; }
      var t = el('table', { class: 'list', id: 'runs-list' }, [el('thead', null, [el('tr', null,
        ['', 'run', 'status', 'strategy', 'paths', 'best', 'ΔNPV vs mining', 'P(beats mining)', 'created', '']
          .map(function (h) { return el('th', { text: h }); }))])]);
      var b = el('tbody');
      rows.forEach(function (r) {
        var q = r.request || {}, f = r.figures || {};
        var live = r.status === 'running' || r.status === 'queued';
        var cb = el('input', { type: 'checkbox', 'data-select': r.id, 'aria-label': 'select run ' + (r.name || r.id) });
        if (r.status !== 'done') cb.disabled = true;
        cb.checked = !!selected[r.id];
        cb.addEventListener('change', function () { selected[r.id] = cb.checked; update(); });
        b.appendChild(el('tr', { 'data-run': r.id, 'data-status': r.status }, [el('td', null, [cb]),
          el('td', null, [el('a', { href: '/runs/' + r.id, text: r.name || r.id }), r.name ? el('div', { class: 'hint', text: r.id }) : null]),
          el('td', null, [el('span', { class: 'badge ' + r.status, 'data-progress': String(r.progress), text: r.status + (live ? ' ' + Math.round(r.progress * 100) + '%' : '') })]),
          el('td', { text: (q.strategy || '') + (q.strategy === 'convert' ? ' ' + Math.round(q.share * 100) + '%' : '') }),
          el('td', { text: String(q.paths || '') }),
          el('td', { text: f.best || '' }),
          el('td', { class: 'num', text: f.best ? money(f.best_delta_vs_mine) : '' }),
          el('td', { class: 'num', text: f.best && f.best !== 'mine' ? pct(f.best_prob_beats_mine) : '' }),
          el('td', { text: (r.created || '').replace('T', ' ').replace('Z', '') }),
          el('td', null, [el('button', { type: 'button', class: 'small danger', 'data-remove': r.id, text: live ? 'cancel' : 'delete',
            onclick: function () { removeRun(r.id, refresh); } })])]));
      });
      t.appendChild(b);
      holder.appendChild(t);
      update();
    }
    function update() {
      var n = document.querySelectorAll('#runs-list input[data-select]:checked').length;
      var btn = document.getElementById('compare');
      if (btn) { btn.disabled = n < 2 || n > 6; btn.textContent = 'Compare selected (' + n + ')'; }
    }
    function refresh() {
      return api('GET', '/api/runs/overview').then(function (res) { draw(res.body || []); });
    }
    clearInterval(runsTimer);
    runsTimer = setInterval(function () {
      if (location.pathname !== '/runs') { clearInterval(runsTimer); return; }
      refresh();
    }, 1500);
    return refresh();
  }

  // Two or more runs side by side: key figures, each strategy's NPV, overlaid NPV ranges, and
  // the inputs that differ.
  var PALETTE = ['#0072B2', '#E69F00', '#009E73', '#CC79A7', '#56B4E9', '#D55E00'];
  function compareChart(runs) {
    var labels = [];
    runs.forEach(function (r) { r.strategies.forEach(function (s) { if (labels.indexOf(s.label) < 0) labels.push(s.label); }); });
    var lo = Infinity, hi = -Infinity;
    runs.forEach(function (r) { r.strategies.forEach(function (s) { lo = Math.min(lo, s.p5); hi = Math.max(hi, s.p95); }); });
    if (!isFinite(lo) || !isFinite(hi)) return null;
    if (lo > 0) lo = 0;
    var W = 720, left = 110, right = 20, rowH = 14 * runs.length + 12, top = 34, H = top + labels.length * rowH + 40;
    var x = function (v) { return left + (v - lo) / (hi - lo || 1) * (W - left - right); };
    var ns = 'http://www.w3.org/2000/svg';
    var svg = document.createElementNS(ns, 'svg');
    svg.setAttribute('viewBox', '0 0 ' + W + ' ' + H); svg.setAttribute('class', 'hp-chart'); svg.setAttribute('role', 'img');
    svg.setAttribute('aria-label', 'NPV of each strategy in each run: mean, with the 5th to 95th percentile range');
    function add(tag, attrs, text) { var e = document.createElementNS(ns, tag); Object.keys(attrs).forEach(function (k) { e.setAttribute(k, attrs[k]); }); if (text !== undefined) e.textContent = text; svg.appendChild(e); return e; }
    add('text', { x: left, y: 14, 'font-size': 13, 'font-weight': 700 }, 'NPV by strategy and run: mean (dot) and p5–p95 (bar)');
    runs.forEach(function (r, k) {
      var lx = left + k * 150;
      add('rect', { x: lx, y: 20, width: 10, height: 10, fill: PALETTE[k % PALETTE.length] });
      add('text', { x: lx + 14, y: 29, 'font-size': 11 }, (r.name || r.id).slice(0, 20));
    });
    var ticks = 5;
    for (var i = 0; i <= ticks; i++) {
      var v = lo + (hi - lo) * i / ticks, tx = x(v);
      add('line', { x1: tx, x2: tx, y1: top, y2: H - 30, stroke: '#e3e6ea' });
      add('text', { x: tx, y: H - 14, 'font-size': 11, 'text-anchor': 'middle' }, money(v));
    }
    if (lo < 0) add('line', { x1: x(0), x2: x(0), y1: top, y2: H - 30, stroke: '#555', 'stroke-dasharray': '3 3' });
    labels.forEach(function (l, j) {
      var y0 = top + j * rowH + 6;
      add('text', { x: left - 6, y: y0 + rowH / 2, 'font-size': 11, 'text-anchor': 'end' }, l);
      runs.forEach(function (r, k) {
        var s = r.strategies.filter(function (q) { return q.label === l; })[0];
        if (!s) return;
        var y = y0 + k * 14 + 4, c = PALETTE[k % PALETTE.length];
        add('line', { x1: x(s.p5), x2: x(s.p95), y1: y, y2: y, stroke: c, 'stroke-width': 5, 'stroke-opacity': 0.45 });
        var dot = add('circle', { cx: x(s.mean), cy: y, r: 4, fill: c, 'data-run': r.id, 'data-strategy': l, 'data-mean': String(s.mean) });
        var tt = document.createElementNS(ns, 'title'); tt.textContent = (r.name || r.id) + ' · ' + l + ': mean ' + money(s.mean) + ', p5 ' + money(s.p5) + ', p95 ' + money(s.p95); dot.appendChild(tt);
      });
    });
    return svg;
  }

  function renderCompare() {
    setNav('runs');
    var ids = (new URLSearchParams(location.search).get('ids') || '').split(',').filter(Boolean);
    app.innerHTML = '';
    app.appendChild(el('h1', { text: 'Compare runs' }));
    return api('GET', '/api/compare?ids=' + encodeURIComponent(ids.join(','))).then(function (res) {
      if (!res.ok) { app.appendChild(el('div', { class: 'card status-bad', id: 'compare-error', text: (res.body && res.body.error) || 'HTTP ' + res.status })); return; }
      var runs = res.body.runs;
      var t = el('table', { class: 'results', id: 'compare-table' });
      t.appendChild(el('thead', null, [el('tr', null, [el('th', { text: '' })].concat(runs.map(function (r, k) {
        return el('th', { 'data-run': r.id }, [el('span', { class: 'swatch', style: 'background:' + PALETTE[k % PALETTE.length] }), el('a', { href: '/runs/' + r.id, text: r.name || r.id })]);
      })))]));
      var tb = el('tbody');
      function row(name, f, cls) { tb.appendChild(el('tr', { class: cls || '' }, [el('td', { text: name })].concat(runs.map(function (r) { return el('td', { 'data-run': r.id, text: f(r) }); })))); }
      row('best strategy', function (r) { return r.figures.best; });
      row('ΔNPV vs mining', function (r) { return money(r.figures.best_delta_vs_mine); });
      row('P(beats mining)', function (r) { return r.figures.best === 'mine' ? '–' : pct(r.figures.best_prob_beats_mine); });
      row('paths · seed', function (r) { return r.figures.paths + ' · ' + r.figures.seed; });
      var labels = [];
      runs.forEach(function (r) { r.strategies.forEach(function (s) { if (labels.indexOf(s.label) < 0) labels.push(s.label); }); });
      labels.forEach(function (l) {
        row('NPV ' + l, function (r) { var s = r.strategies.filter(function (q) { return q.label === l; })[0]; return s ? money(s.mean) + ' ± ' + money(s.stderr) : '–'; }, 'strategy');
      });
      t.appendChild(tb);
      app.appendChild(el('div', { class: 'card scroll' }, [t]));
      var chart = compareChart(runs);
      if (chart) app.appendChild(el('figure', { class: 'card', id: 'compare-chart' }, [chart]));
      var d = el('table', { class: 'results', id: 'compare-diff' }, [el('thead', null, [el('tr', null, [el('th', { text: 'input' })].concat(runs.map(function (r) { return el('th', { text: r.name || r.id }); })))])]);
      var db = el('tbody');
      res.body.differences.forEach(function (x) {
        db.appendChild(el('tr', { 'data-key': x.key }, [el('td', null, [el('code', { text: x.key })])].concat(x.values.map(function (v) { return el('td', { text: typeof v === 'number' ? rounded(v) : JSON.stringify(v) }); }))));
      });
      d.appendChild(db);
      app.appendChild(el('h2', { text: 'Inputs that differ' }));
      app.appendChild(res.body.differences.length ? el('div', { class: 'card scroll' }, [d]) : el('p', { class: 'muted', text: 'The runs have the same inputs.' }));
    });
  }

  // ------------------------------------------------------------------ history
  function renderHistory() {
    setNav('history');
    app.innerHTML = '';
    app.appendChild(el('h1', { text: 'History since 2010' }));
    app.appendChild(el('p', { class: 'hint', text: 'From the data shipped with hashpivot (see data/PROVENANCE.md). Dashed red lines mark the halvings. Hover to read values.' }));
    var grid = el('div', { class: 'charts', id: 'history-charts' });
    app.appendChild(historyZoom(function (q) { return drawHistory(grid, q); }));
    app.appendChild(grid);
    renderForwardCurve(app);
    return drawHistory(grid, '');
  }
  // The four history charts for the date range `q` (`?from=...&to=...` or '').
  function drawHistory(grid, q) {
    grid.innerHTML = '';
    return Promise.all(['price', 'difficulty', 'hashprice', 'fees'].map(function (s) {
      var fig = el('figure', { id: 'chart-' + s, 'data-chart-name': s });
      grid.appendChild(fig);
      return fetch('/api/history/' + s + '/chart.svg' + q).then(function (r) { return r.text(); }).then(function (svg) { fig.innerHTML = svg; });
    }));
  }
  // Date-range zoom: presets and a from/to pair; the server cuts the series.
  function historyZoom(draw) {
    var from = el('input', { type: 'date', id: 'h-from', min: '2010-01-01' });
    var to = el('input', { type: 'date', id: 'h-to', min: '2010-01-01' });
    var msg = el('span', { class: 'status-bad', id: 'h-error', role: 'status' });
    function apply() {
      msg.textContent = '';
      if (from.value && to.value && from.value > to.value) { msg.textContent = 'from is after to'; return null; }
      var q = [];
      if (from.value) q.push('from=' + from.value);
      if (to.value) q.push('to=' + to.value);
      return draw(q.length ? '?' + q.join('&') : '');
    }
    function preset(label, years) {
      return el('button', { type: 'button', class: 'small', 'data-zoom': label, text: label, onclick: function () {
        to.value = '';
        if (years === null) from.value = '';
        else { var d = new Date(); d.setUTCFullYear(d.getUTCFullYear() - years); from.value = d.toISOString().slice(0, 10); }
        apply();
      } });
    }
    from.addEventListener('change', apply);
    to.addEventListener('change', apply);
    return el('p', { class: 'toolbar', id: 'history-zoom' }, ['Range: ', preset('all', null), ' ', preset('10 years', 10), ' ', preset('4 years', 4), ' ', preset('1 year', 1), ' ',
      el('label', { for: 'h-from', text: ' from ' }), from, el('label', { for: 'h-to', text: ' to ' }), to, ' ', msg]);
  }

  // The stored hashprice forward curve beside the model's fan (issue 14): a section after the
  // history charts, filled when the (Monte Carlo) answer arrives; a hint when none is stored.
  function renderForwardCurve(parent) {
    var box = el('section', { id: 'forward-curve' }, [el('h2', { text: 'Hashprice forward curve' })]);
    parent.appendChild(box);
    function num(x) { return (x === null || x === undefined || !isFinite(x)) ? '–' : '$' + x.toFixed(2); }
    return api('GET', '/api/history/forwards').then(function (res) {
      var c = res.body || {};
      if (!res.ok || !c.months || !c.months.length) {
        box.appendChild(el('p', { class: 'hint', text: (res.ok ? c.message : c.error) || 'No forward curve.' }));
        return;
      }
      box.appendChild(el('p', { class: 'hint', text: 'Quoted ' + c.quote_date + '. Model: the default scenario from the market state of ' +
        c.market_state_date + (c.market_state_origin ? ' (' + c.market_state_origin + ')' : '') + ', ' + c.paths +
        ' paths; mean and p5–p95 of each delivery month\'s average hashprice (' + c.unit + '). `hashpivot calibrate --forwards` fits the price drift to the curve.' }));
      var fig = el('figure', { id: 'chart-forwards', 'data-chart-name': 'forwards' });
      var t = el('table', { class: 'list', id: 'forward-table' }, [el('thead', null, [el('tr', null,
        ['delivery', 'forward', 'model mean', 'model p5', 'model p95'].map(function (h) { return el('th', { text: h }); }))])]);
      var b = el('tbody');
      c.months.forEach(function (m) {
        b.appendChild(el('tr', { 'data-delivery': m.delivery }, [el('td', { text: m.delivery }), el('td', { text: num(m.forward) }),
          el('td', { text: num(m.model_mean) }), el('td', { text: num(m.model_p5) }), el('td', { text: num(m.model_p95) })]));
      });
      t.appendChild(b);
      box.appendChild(fig);
      box.appendChild(t);
      var q = '?quote_date=' + encodeURIComponent(c.quote_date) + '&paths=' + c.paths + '&seed=' + c.seed;
      return fetch('/api/history/forwards/chart.svg' + q).then(function (r) { return r.text(); }).then(function (svg) { fig.innerHTML = svg; });
    });
  }

  // ------------------------------------------------------------------ routing
  function route() {
    var p = location.pathname;
    var m = p.match(/^\/runs\/([^/]+)$/);
    var done;
    if (p === '/runs/compare') done = renderCompare();
    else if (m) done = renderRun(decodeURIComponent(m[1]));
    else if (p === '/runs') done = renderRuns();
    else if (p === '/history') done = renderHistory();
    else if (p === '/leases') done = renderLeases();
    else if (p === '/payback') done = renderPayback();
    else if (p === '/dispatch') done = renderDispatch();
    else done = renderEditor();
    Promise.resolve(done).then(function () { document.body.setAttribute('data-ready', p); });
  }
  function go(path) { clearInterval(runsTimer); history.pushState(null, '', path); document.body.removeAttribute('data-ready'); route(); }
  document.addEventListener('click', function (ev) {
    var a = ev.target.closest && ev.target.closest('a[href^="/"]');
    if (!a || a.getAttribute('href').indexOf('/api/') === 0 || ev.ctrlKey || ev.metaKey) return;
    ev.preventDefault(); go(a.getAttribute('href'));
  });
  window.addEventListener('popstate', route);
  route();
})();
