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
    'strategy.decide_months': 'months', 'strategy.schedule': '[[day, share], …]', 'strategy.shares': '[share, …]'
  };
  var INTEGER = { 'run.paths': 1, 'run.seed': 1, 'chain.height': 1, 'strategy.tranches': 1, 'strategy.decide_months': 1 };
  var OPTIONAL = { 'chain.hashrate_ehs': 1, 'chain.epoch_elapsed_days': 1 };
  var TABLE_TITLES = { run: 'Run', chain: 'Chain', price: 'Market: BTC price', fees: 'Market: fees',
    hashrate: 'Network hashrate', site: 'Site', mining: 'Mining fleet', ai: 'AI/HPC lease terms', strategy: 'Strategy' };
  var ORDER = ['site', 'mining', 'price', 'fees', 'hashrate', 'ai', 'strategy', 'chain', 'run'];
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
    } else if (key === 'strategy.kind') {
      input = el('select', { id: fieldId(key), 'data-key': key });
      STRATEGIES.forEach(function (s) { input.appendChild(el('option', { value: s, text: s })); });
      input.value = value;
    } else if (Array.isArray(value) || (value !== null && typeof value === 'object')) {
      input = el('input', { type: 'text', id: fieldId(key), 'data-key': key, 'data-json': '1' });
      input.value = JSON.stringify(value);
    } else if (typeof value === 'string') {
      input = el('input', { type: 'text', id: fieldId(key), 'data-key': key });
      input.value = value;
    } else {
      input = el('input', { type: 'number', step: 'any', id: fieldId(key), 'data-key': key });
      input.value = value === null ? '' : String(value);
      if (value === null) input.placeholder = 'default';
    }
    return input;
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

  function showErrors(errs) {
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
    status.textContent = errs.length ? errs.length + ' problem' + (errs.length > 1 ? 's' : '') + ' — see the fields marked in red' : 'scenario is valid';
    status.className = errs.length ? 'status-bad' : 'status-ok';
    document.getElementById('run').disabled = errs.length > 0;
  }

  var timer = null;
  function schedule() { clearTimeout(timer); timer = setTimeout(validate, 250); }
  function validate() {
    var r = readForm();
    var local = Object.keys(r.problems).map(function (k) { return { key: k, message: r.problems[k] }; });
    if (local.length) { showErrors(local); return Promise.resolve(false); }
    return api('POST', '/api/scenario/validate', r.scenario).then(function (res) {
      if (!res.ok) { showErrors([{ key: (res.body && res.body.field) || 'scenario', message: res.body ? res.body.error : 'error' }]); return false; }
      showErrors(res.body.errors.map(function (e) { return { key: e.key, message: 'allowed ' + e.allowed + ' (got ' + e.value + ')' }; }));
      return res.body.valid;
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
      showErrors(errs);
    });
  }

  function loadToml(ev) {
    var f = ev.target.files && ev.target.files[0];
    if (!f) return;
    f.text().then(function (text) {
      return fetch('/api/scenario/validate', { method: 'POST', headers: { 'Content-Type': 'application/toml' }, body: text })
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
    return load.then(function (sc) {
      // Optional keys the file may leave out: offer them as empty fields.
      Object.keys(OPTIONAL).forEach(function (key) {
        var p = key.split('.');
        if (sc[p[0]] && !(p[1] in sc[p[0]])) sc[p[0]][p[1]] = null;
      });
      form = { template: sc };
      app.innerHTML = '';
      var tables = el('div', { class: 'tables' });
      ORDER.concat(Object.keys(sc).filter(function (t) { return ORDER.indexOf(t) < 0; })).forEach(function (t) {
        var v = sc[t];
        if (v === null || typeof v !== 'object' || Array.isArray(v)) return;
        var fs = el('fieldset', { id: 'table-' + t }, [el('legend', { text: TABLE_TITLES[t] || '[' + t + ']' })]);
        Object.keys(v).forEach(function (k) {
          var key = t + '.' + k;
          if (key === 'mining.fleet') { fs.appendChild(fleetTable(v[k])); return; }
          var input = scalarInput(key, v[k]);
          input.addEventListener('input', schedule);
          input.addEventListener('change', schedule);
          fs.appendChild(el('div', { class: 'field' }, [
            el('label', { for: input.id, html: k + (UNITS[key] ? ' <span class="unit">' + UNITS[key] + '</span>' : '') }),
            input, el('span', { class: 'err', 'data-err-for': key })]));
        });
        tables.appendChild(fs);
      });
      var side = el('div', { class: 'side' }, [el('div', { class: 'card' }, [
        el('h2', { text: 'Run this scenario' }),
        el('p', { class: 'hint', text: 'Strategy, share and paths are taken from the Strategy and Run tables. The mine strategy is always included for comparison.' }),
        el('label', null, [el('input', { type: 'checkbox', id: 'sensitivity', checked: 'checked' }), ' sensitivity (tornado) of NPV to the main inputs']),
        el('p', null, [el('button', { class: 'primary', id: 'run', type: 'button', text: 'Run simulation', onclick: startRun })]),
        el('p', { id: 'valid' }),
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
      app.appendChild(el('div', { class: 'editor', id: 'editor' }, [tables, side]));
      validate();
    });
  }

  // ------------------------------------------------------------------ run page
  function resultsTable(run) {
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

  function renderDone(run, box) {
    box.innerHTML = '';
    var best = null;
    (run.results || []).forEach(function (r) { if (r.npv && isFinite(r.npv.mean) && (!best || r.npv.mean > best.npv.mean)) best = r; });
    var skipped = ((run.sensitivity || {}).skipped || []).map(function (x) { return 'Sensitivity: ' + x.key + ' left out (' + x.reason + ').'; });
    box.appendChild(el('div', { class: 'card' }, [el('h2', { text: 'Results' }),
      best ? el('p', { id: 'best', html: 'Highest mean NPV: <b>' + label(best) + '</b> at <b>' + usd(best.npv.mean) + '</b> (± ' + usd(best.npv.stderr) + ' standard error).' }) : null,
      el('p', { class: 'hint', text: run.paths + ' paths, seed ' + run.seed + '. NPV in US dollars, discounted (mining at the mining rate, AI at the AI rate).' }),
      resultsTable(run)].concat(skipped.map(function (t) { return el('p', { class: 'hint', text: t }); }))));
    var charts = el('div', { class: 'charts', id: 'charts' });
    box.appendChild(el('h2', { text: 'Charts' }));
    box.appendChild(el('p', { class: 'hint', text: 'Hover over a chart to read its values.' }));
    box.appendChild(charts);
    return api('GET', '/api/runs/' + run.id + '/charts').then(function (res) {
      var list = res.body || [];
      return Promise.all(list.map(function (c) {
        var fig = el('figure', { id: 'chart-' + c.name, 'data-chart-name': c.name, class: (c.name === 'npv' || c.name === 'tornado') ? 'wide' : '' });
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
      el('p', null, [el('a', { href: '/api/runs/' + id, text: 'result JSON' }), ' · ',
        el('a', { href: '#', id: 'edit', text: 'edit this scenario' }), ' ',
        el('button', { type: 'button', id: 'cancel', hidden: 'hidden', text: 'Cancel run', onclick: function () {
          var b = document.getElementById('cancel');
          b.disabled = true;
          api('DELETE', '/api/runs/' + id).then(function (res) {
            if (!res.ok) { b.disabled = false; window.alert(res.body ? res.body.error : 'cannot cancel'); }
          });
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
        if (run.status === 'done') return renderDone(run, box);
        if (run.status === 'failed') box.appendChild(el('div', { class: 'card status-bad', id: 'run-error', text: 'The run failed: ' + run.error }));
        if (run.status === 'cancelled') box.appendChild(el('div', { class: 'card', id: 'run-error', text: 'The run was cancelled.' }));
        return null;
      });
    }
    return api('GET', '/api/runs/' + id).then(function (res) {
      if (!res.ok) { box.appendChild(el('div', { class: 'card status-bad', text: res.body.error })); return; }
      status(res.body.status, res.body.progress);
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

  function renderRuns() {
    setNav('runs');
    return api('GET', '/api/runs').then(function (res) {
      app.innerHTML = '';
      app.appendChild(el('h1', { text: 'Runs' }));
      var rows = res.body || [];
      if (!rows.length) { app.appendChild(el('p', { class: 'muted', html: 'No runs yet: <a href="/">edit a scenario and run it</a>.' })); return; }
      var t = el('table', { class: 'list' }, [el('thead', null, [el('tr', null, ['run', 'status', 'strategy', 'share', 'paths', 'created']
        .map(function (h) { return el('th', { text: h }); }))])]);
      var b = el('tbody');
      rows.forEach(function (r) {
        var q = r.request || {};
        b.appendChild(el('tr', null, [el('td', null, [el('a', { href: '/runs/' + r.id, text: r.id })]),
          el('td', null, [el('span', { class: 'badge ' + r.status, text: r.status + (r.status === 'running' ? ' ' + Math.round(r.progress * 100) + '%' : '') })]),
          el('td', { text: q.strategy || '' }), el('td', { text: q.share === undefined ? '' : String(q.share) }),
          el('td', { text: String(q.paths || '') }), el('td', { text: r.created })]));
      });
      t.appendChild(b);
      app.appendChild(t);
    });
  }

  // ------------------------------------------------------------------ history
  function renderHistory() {
    setNav('history');
    app.innerHTML = '';
    app.appendChild(el('h1', { text: 'History since 2010' }));
    app.appendChild(el('p', { class: 'hint', text: 'From the data shipped with hashpivot (see data/PROVENANCE.md). Dashed red lines mark the halvings. Hover to read values.' }));
    var grid = el('div', { class: 'charts', id: 'history-charts' });
    app.appendChild(grid);
    renderForwardCurve(app);
    return Promise.all(['price', 'difficulty', 'hashprice', 'fees'].map(function (s) {
      var fig = el('figure', { id: 'chart-' + s, 'data-chart-name': s });
      grid.appendChild(fig);
      return fetch('/api/history/' + s + '/chart.svg').then(function (r) { return r.text(); }).then(function (svg) { fig.innerHTML = svg; });
    }));
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
    if (m) done = renderRun(decodeURIComponent(m[1]));
    else if (p === '/runs') done = renderRuns();
    else if (p === '/history') done = renderHistory();
    else done = renderEditor();
    Promise.resolve(done).then(function () { document.body.setAttribute('data-ready', p); });
  }
  function go(path) { history.pushState(null, '', path); document.body.removeAttribute('data-ready'); route(); }
  document.addEventListener('click', function (ev) {
    var a = ev.target.closest && ev.target.closest('a[href^="/"]');
    if (!a || a.getAttribute('href').indexOf('/api/') === 0 || ev.ctrlKey || ev.metaKey) return;
    ev.preventDefault(); go(a.getAttribute('href'));
  });
  window.addEventListener('popstate', route);
  route();
})();
