// The portasignatures end to end (issue 6): a circuit of three lines (the head of service; then
// the comptroller or the secretary, any one; then the mayor) signed by three employees, each in
// their own browser, who sign in with their password and confirm each signature with it again;
// the mayor's signature gives the decree its number and the stamp lists the three signatures.
// Then the rejection path: an empty reason is refused, a reason ends the request. The test
// (test_browser.c) files the expedient and writes both requests as the sending action would,
// gives the three employees a password and a server-held key. axe-core checks every page.
import { eq, follow, main, matches, ok, pathOf, text } from './lib.mjs';

const PASSWORD = 'contrasenya-de-prova-1';

async function signIn(j, user, lang) {
	const page = await j.context({ acceptLanguage: lang });
	eq(await j.goto(page, '/backoffice/signatures'), 200, `${user}: the sign-in page`);
	eq(pathOf(page), '/login?next=%2Fbackoffice%2Fsignatures', `${user}: the portasignatures asks to sign in`);
	await page.fill('#username', user);
	await page.fill('#password', PASSWORD);
	eq(await follow(page, () => page.click('#signin-password')), 200, `${user}: signed in`);
	eq(pathOf(page), '/backoffice/signatures', `${user}: back to the portasignatures`);
	return page;
}

// Opens the pending request for `doc` from the inbox; returns its id.
async function open(j, page, doc, label) {
	const link = page.locator('#pending a', { hasText: doc });
	eq(await link.count(), 1, `${label}: one pending request for ${doc}`);
	await j.check(page, `${label}-inbox`);
	eq(await follow(page, () => link.click()), 200, `${label}: the request`);
	matches(pathOf(page), /^\/backoffice\/signatures\/[0-9a-f-]{36}$/, `${label}: request address`);
	return pathOf(page).split('/')[3];
}

async function sign(j, page, label, t) {
	await page.fill('#password', PASSWORD);
	eq(await follow(page, () => page.click('#sign')), 200, `${label}: after signing`);
	matches(pathOf(page), /\?fet=signed$/, `${label}: back to the request`);
	eq(await text(page, '#notice'), t.signed, `${label}: the signature is confirmed`);
	await j.check(page, `${label}-signed`);
}

const T = {
	ca: { signed: 'Heu signat el document.', rejected: 'Heu rebutjat la sol·licitud.',
	      stateSigned: 'Signada', stateRejected: 'Rebutjada', line: 'Completada',
	      reason: 'Escriviu el motiu del rebuig: és obligatori.', none: 'No teniu cap document pendent de signar.' },
	es: { signed: 'Ha firmado el documento.', rejected: 'Ha rechazado la solicitud.',
	      stateSigned: 'Firmada', stateRejected: 'Rechazada', line: 'Completada',
	      reason: 'Escriba el motivo del rechazo: es obligatorio.', none: 'No tiene ningún documento pendiente de firmar.' },
};

async function circuit(j) {
	const cap = await signIn(j, 'demo.cap', 'ca');
	const id = await open(j, cap, 'resolucio', 'cap');
	eq(await text(cap, '#circuit li[data-line="1"] .tag'), 'En curs', 'line 1 is the current one');
	eq(await text(cap, '#circuit li[data-line="3"] .tag'), 'En espera', 'line 3 waits');
	await j.check(cap, 'cap-request');
	// A wrong password signs nothing.
	await cap.fill('#password', 'no-es-aquesta');
	eq(await follow(cap, () => cap.click('#sign')), 400, 'a wrong password');
	eq(await text(cap, '#act-error'), 'La contrasenya no és correcta. No s\'ha signat res.', 'wrong password message');
	eq(await cap.locator('#signatures a').count(), 0, 'nothing signed');
	await j.check(cap, 'cap-wrong-password');
	await sign(j, cap, 'cap', T.ca);
	eq(await text(cap, '#circuit li[data-line="1"] .tag'), 'Completada', 'line 1 done');
	eq(await cap.locator('#act').count(), 0, 'the head of service has nothing more to do');

	// Line 2 needs any one of two: the comptroller, in Spanish.
	const inter = await signIn(j, 'demo.interventor', 'es');
	eq(await open(j, inter, 'resolucio', 'interventor'), id, 'the same request');
	await sign(j, inter, 'interventor', T.es);
	eq(await inter.locator('#circuit li[data-line="2"] li[data-state="skipped"]').count(), 1,
	   'the secretary is no longer needed');

	const mayor = await signIn(j, 'demo.alcaldessa', 'ca');
	eq(await open(j, mayor, 'resolucio', 'alcaldessa'), id, 'the same request');
	await sign(j, mayor, 'alcaldessa', T.ca);
	eq(await text(mayor, '#request-state'), T.ca.stateSigned, 'the request is signed');
	matches(await text(mayor, '#decree'), /^D\/\d{4}\/\d{6}$/, 'decree number');
	eq(await mayor.locator('#signatures li a[href$=".p7s"]').count(), 3, 'three signatures to download');
	const stamp = await text(mayor, '#signatures');
	ok(stamp.includes('11111111H') && stamp.includes('22222222J') && stamp.includes('44444444A'),
	   `the stamp names the three signers: ${stamp}`);
	const href = await mayor.locator('#signatures li a').first().getAttribute('href');
	const p7s = await mayor.request.get(j.base + href);
	eq(p7s.status(), 200, 'a signature downloads');
	eq(p7s.headers()['content-type'], 'application/pkcs7-signature', 'as a CMS signature');
	await j.check(mayor, 'alcaldessa-done');
	// Done lists: the mayor's inbox has it under "done by me", nothing pending.
	eq(await j.goto(mayor, '/backoffice/signatures'), 200, 'the inbox again');
	eq(await mayor.locator(`#done tr[data-id="${id}"]`).count(), 1, 'done by me');
	await j.check(mayor, 'alcaldessa-inbox-after');
}

async function rejection(j) {
	const cap = await signIn(j, 'demo.cap', 'es');
	await open(j, cap, 'informe', 'reject');
	await cap.fill('#reason', '   ');
	eq(await follow(cap, () => cap.click('#reject')), 400, 'a rejection without a reason');
	eq(await text(cap, '#act-error'), T.es.reason, 'the reason is required');
	await j.check(cap, 'reject-no-reason');
	await cap.fill('#reason', 'Falta l\'informe d\'intervenció.');
	eq(await follow(cap, () => cap.click('#reject')), 200, 'after rejecting');
	eq(await text(cap, '#notice'), T.es.rejected, 'the rejection is confirmed');
	eq(await text(cap, '#request-state'), T.es.stateRejected, 'the request is rejected');
	eq(await text(cap, '#rejection'), 'Falta l\'informe d\'intervenció.', 'the reason is shown');
	await j.check(cap, 'rejected');
}

await main([['three-line circuit signed by three employees', circuit],
            ['rejection needs a reason (es)', rejection]]);
