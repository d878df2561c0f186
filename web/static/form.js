/* Progressive enhancement of the e-office form (web/form.c). Without JavaScript every change
 * is a submit button; with it, a change of answer asks the server for the form again
 * (_action=update) and copies what its dry run decided: which fields are shown, the fees.
 * The answers are saved as a draft every 30 seconds when they changed. Files are never sent
 * by these requests: they travel only with the form's own buttons. */
(function () {
  'use strict';
  var form = document.getElementById('tramit-form');
  if (!form || !window.fetch || !window.URLSearchParams || !window.DOMParser) return;

  function answers(action) {
    var params = new URLSearchParams();
    var data = new FormData(form);
    data.forEach(function (value, name) {
      if (typeof value === 'string' && name !== '_action') params.append(name, value);
    });
    params.set('_action', action);
    return params;
  }

  var pending = null;
  function refresh() {
    if (pending) pending.abort();
    pending = new AbortController();
    fetch(form.getAttribute('action'), {
      method: 'POST', body: answers('update'), credentials: 'same-origin', signal: pending.signal,
      headers: { 'Content-Type': 'application/x-www-form-urlencoded' }
    }).then(function (r) { return r.ok ? r.text() : null; }).then(function (html) {
      if (!html) return;
      var doc = new DOMParser().parseFromString(html, 'text/html');
      doc.querySelectorAll('[data-conditional]').forEach(function (fresh) {
        var here = document.getElementById(fresh.id);
        if (!here) return;
        var hide = fresh.hasAttribute('hidden');
        here.hidden = hide;
        here.querySelectorAll('input, select, textarea').forEach(function (el) { el.disabled = hide; });
      });
      var fees = doc.getElementById('fees'), ours = document.getElementById('fees');
      if (fees && ours) ours.innerHTML = fees.innerHTML;
    }).catch(function () { /* the Update button still works */ });
  }

  var changed = false;
  form.addEventListener('change', function (e) {
    changed = true;
    if (e.target && e.target.type !== 'file') refresh();
  });
  form.addEventListener('input', function () { changed = true; });

  var draft = form.getAttribute('data-draft');
  setInterval(function () {
    if (!changed || !draft) return;
    changed = false;
    fetch(draft, {
      method: 'POST', body: answers('draft'), credentials: 'same-origin',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded' }
    }).then(function (r) {
      if (!r.ok) changed = true;
      else document.documentElement.setAttribute('data-autosaved', String(Date.now()));
    }).catch(function () { changed = true; });
  }, 30000);
})();
