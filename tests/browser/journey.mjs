// The whole journey that exists today, once in Valencian and once in Spanish: a citizen finds
// the general application (GEN-001) with the search box, reads its page, signs in, submits the
// form with a required field missing, corrects it, reviews the answers, files them, gets the receipt and finds the expedient in
// the Carpeta; an employee finds it in the back office and acts on it; the citizen sees the new
// state and verifies the receipt by its CSV. In each language one person chooses it through
// Accept-Language and the other through the switch in the header. The Spanish citizen uses a
// 390-pixel-wide phone screen. axe-core checks every page.
import { attr, eq, follow, main, matches, ok, pathOf, registryYear, text } from './lib.mjs';

const T = {
	ca: {
		entity: 'Ajuntament de Demostració', home: 'Tràmits en línia', tramit: 'Instància general', start: 'Començar el tràmit',
		query: 'instancia', count: '1 tràmit per a «instancia»',
		signin: 'Identificació', switchTo: 'Castellano',
		summary: 'Hi ha errors en el formulari. Reviseu aquests camps:',
		missing: 'Cal omplir «Assumpte».',
		review: 'Reviseu la sol·licitud',
		submitted: "La vostra sol·licitud s'ha presentat correctament.",
		carpeta: 'Carpeta ciutadana', backoffice: "Gestor d'expedients", state0: 'En tramitació',
		action: 'resolve', actionLabel: 'Resoldre', done: 'Acció registrada.', state1: 'Resolta',
		history0: 'Presentar → En tramitació', history1: 'Resoldre → Resolta',
		verified: 'Document verificat: és una còpia autèntica de l\'original que guarda l\'Ajuntament.',
	},
	es: {
		entity: 'Ayuntamiento de Demostración', home: 'Trámites en línea', tramit: 'Instancia general', start: 'Iniciar el trámite',
		query: 'Instància general', count: '1 trámite para «Instància general»',
		signin: 'Identificación', switchTo: 'Valencià',
		summary: 'Hay errores en el formulario. Revise estos campos:',
		missing: 'Debe rellenar «Asunto».',
		review: 'Revise la solicitud',
		submitted: 'Su solicitud se ha presentado correctamente.',
		carpeta: 'Carpeta ciudadana', backoffice: 'Gestor de expedientes', state0: 'En tramitación',
		action: 'reject', actionLabel: 'Desestimar', done: 'Acción registrada.', state1: 'Desestimada',
		history0: 'Presentar → En tramitación', history1: 'Desestimar → Desestimada',
		verified: 'Documento verificado: es una copia auténtica del original que guarda el Ayuntamiento.',
	},
};


// Opens a page in the other language through the visible switch in the header.
async function switchLanguage(page, from, to) {
	eq(await attr(page, 'html', 'lang'), from, 'page language before the switch');
	eq(await follow(page, () => page.click(`header a[lang="${to}"]`)), 200, 'the language switch');
	eq(await attr(page, 'html', 'lang'), to, 'page language after the switch');
}

function journey(lang) {
	const t = T[lang];
	return async j => {
		// The citizen: Valencian by Accept-Language; Spanish by the switch on a phone.
		const citizen = await j.context(lang === 'ca'
			? { acceptLanguage: 'ca-ES,ca;q=0.9' }
			: { acceptLanguage: 'ca', viewport: { width: 390, height: 844 } });
		eq(await j.goto(citizen, '/'), 200, 'GET /');
		if (lang === 'es') {
			eq(await text(citizen, `header a[lang="es"]`), T.ca.switchTo, 'the switch names the other language');
			await switchLanguage(citizen, 'ca', 'es');
		}
		eq(await attr(citizen, 'html', 'lang'), lang, 'home page language');
		eq(await text(citizen, 'h1'), t.home, 'home page heading');
		await j.check(citizen, 'home');

		// Found with the search box every page carries.
		await citizen.fill('#site-search', t.query);
		eq(await follow(citizen, () => citizen.press('#site-search', 'Enter')), 200, 'the search results');
		eq(await text(citizen, '#search-count'), t.count, 'the search finds the tràmit');
		await j.check(citizen, 'search');
		eq(await follow(citizen, () => citizen.click('#results a[href="/tramits/GEN-001"]')), 200,
		   'the tràmit page');
		eq(pathOf(citizen), '/tramits/GEN-001', 'the catalogue link');
		eq(await text(citizen, 'h1'), t.tramit, 'tràmit page heading');
		await j.check(citizen, 'tramit');

		// Starting needs a signed-in person: the sign-in page, then back to the form.
		eq(await text(citizen, '#start'), t.start, 'start button');
		eq(await follow(citizen, () => citizen.click('#start')), 200, 'the sign-in page');
		eq(pathOf(citizen), '/login?next=%2Ftramits%2FGEN-001%2Fnew', 'the form asks to sign in first');
		eq(await text(citizen, 'h1'), t.signin, 'sign-in heading');
		await j.check(citizen, 'login');
		eq(await follow(citizen, () => citizen.click('#signin-citizen')), 200, 'the form after signing in');
		eq(pathOf(citizen), '/tramits/GEN-001/new', 'back to the form after signing in');
		eq(await text(citizen, '#who'), 'Maria Demo Ciutadana', 'signed-in name');
		await j.check(citizen, 'form');

		// Everything but the subject: the form comes back with the error at the top and beside it.
		await citizen.fill('#f-exposa', 'Hi ha un fanal apagat\nal carrer Major.');
		await citizen.fill('#f-solicita', 'Que el reparen.');
		await citizen.fill('#f-correu', 'maria.demo@example.org');
		await citizen.selectOption('#f-idioma', lang);
		eq(await follow(citizen, () => citizen.click('#submit')), 422, 'a form with a missing field');
		eq(await attr(citizen, 'html', 'lang'), lang, 'error page language');
		eq(await citizen.title(), `Error: ${t.tramit} · ${t.entity}`, 'the title says there are errors');
		eq(await citizen.evaluate(() => document.activeElement.id), 'error-summary', 'focus starts on the summary');
		eq(await attr(citizen, '#error-summary', 'role'), 'alert', 'the error summary is announced');
		eq(await text(citizen, '#error-summary h2'), t.summary, 'error summary heading');
		eq(await citizen.locator('#error-summary li').count(), 1, 'one error in the summary');
		eq(await text(citizen, '#error-summary li a'), t.missing, 'error summary entry');
		eq(await attr(citizen, '#error-summary li a', 'href'), '#f-assumpte', 'the summary links to the field');
		eq(await text(citizen, '#e-assumpte'), t.missing, 'error beside the field');
		eq(await attr(citizen, '#f-assumpte', 'aria-invalid'), 'true', 'the field is marked invalid');
		eq(await attr(citizen, '#f-assumpte', 'aria-describedby'), 'h-assumpte e-assumpte',
		   'the field is described by its hint and its error');
		eq(await citizen.inputValue('#f-exposa'), 'Hi ha un fanal apagat\nal carrer Major.', 'answers are kept');
		eq(await citizen.inputValue('#f-idioma'), lang, 'the choice is kept');
		await j.check(citizen, 'form-errors');
		// Following the summary link puts the cursor in the field.
		await citizen.click('#error-summary li a');
		eq(await citizen.evaluate(() => document.activeElement.id), 'f-assumpte', 'focus after the summary link');

		await citizen.keyboard.type('Fanal apagat al carrer Major');
		// The answers are shown read-only before filing; «Presentar» files them.
		eq(await follow(citizen, () => citizen.click('#submit')), 200, 'the review page');
		eq(await text(citizen, 'h1'), t.review, 'review heading');
		eq(await text(citizen, 'dd[data-field="assumpte"]'), 'Fanal apagat al carrer Major', 'the review shows the answers');
		await j.check(citizen, 'review');
		eq(await follow(citizen, () => citizen.click('#submit')), 200, 'the receipt page');
		matches(pathOf(citizen), /^\/carpeta\/expedients\/[0-9a-f-]{36}\?submitted=1$/, 'receipt address');
		const id = new URL(citizen.url()).pathname.split('/')[3];
		eq(await text(citizen, '#submitted'), t.submitted, 'confirmation');
		const registry = await text(citizen, '#registry-number');
		matches(registry, new RegExp(`^E/${registryYear()}/\\d{6}$`), 'registry number');
		const csv = await text(citizen, '#csv');
		matches(csv, /^[0-9A-Z]{4}(-[0-9A-Z]{4}){5}$/, 'CSV');
		eq(await text(citizen, '#state'), t.state0, 'state after submitting');
		eq(await text(citizen, '#data dd[data-field="assumpte"]'), 'Fanal apagat al carrer Major', 'stored subject');
		const number = (await text(citizen, 'h1')).replace(/^\S+ /, '');
		await j.check(citizen, 'receipt');

		// The Carpeta lists it with its state.
		eq(await follow(citizen, () => citizen.getByRole('link', { name: t.carpeta, exact: true }).click()), 200, 'the Carpeta');
		const row = `#expedients tr[data-id="${id}"]`;
		eq(await text(citizen, `${row} td:nth-child(1)`), number, 'Carpeta: expedient number');
		eq(await text(citizen, `${row} td:nth-child(2)`), t.tramit, 'Carpeta: tràmit');
		eq(await text(citizen, `${row} td.state`), t.state0, 'Carpeta: state');
		eq((await citizen.locator(`${row} td:nth-child(4)`).innerText()).split('\n')[0], registry,
		   'Carpeta: registry number');
		await j.check(citizen, 'carpeta');

		// The employee's browser asks for Spanish; in the Valencian journey they switch.
		const employee = await j.context({ acceptLanguage: 'es-ES,es;q=0.9' });
		eq(await j.goto(employee, '/backoffice'), 200, 'GET /backoffice');
		eq(pathOf(employee), '/login?next=%2Fbackoffice', 'the back office asks to sign in');
		if (lang === 'ca')
			await switchLanguage(employee, 'es', 'ca');
		eq(await attr(employee, 'html', 'lang'), lang, 'employee sign-in language');
		await j.check(employee, 'login-employee');
		eq(await follow(employee, () => employee.click('#signin-employee')), 200, 'the back office');
		eq(pathOf(employee), '/backoffice', 'back office after signing in');
		eq(await text(employee, `${row} td:nth-child(3)`), 'Maria Demo Ciutadana (12345678Z)', 'back office: applicant');
		eq(await text(employee, `${row} td.state`), t.state0, 'back office: state');
		await j.check(employee, 'backoffice');
		eq(await follow(employee, () => employee.click(`${row} td:nth-child(1) a`)), 200, 'the expedient');
		eq(pathOf(employee), `/backoffice/expedients/${id}`, 'back office expedient address');
		eq(await text(employee, '#registry-number'), registry, 'back office: registry number');
		eq(await text(employee, `#action-${t.action}`), t.actionLabel, 'the action button');
		await j.check(employee, 'backoffice-expedient');
		eq(await follow(employee, () => employee.click(`#action-${t.action}`)), 200, 'after the action');
		eq(pathOf(employee), `/backoffice/expedients/${id}?done=1`, 'back to the expedient');
		eq(await text(employee, '#done'), t.done, 'the action is confirmed');
		eq(await text(employee, '#state'), t.state1, 'state after the action');
		eq(await text(employee, '#no-actions') !== '', true, 'a final state offers no actions');
		await j.check(employee, 'backoffice-done');

		// The citizen sees the new state, in the list and on the expedient, with its history.
		eq(await follow(citizen, () => citizen.reload()), 200, 'the Carpeta again');
		eq(await text(citizen, `${row} td.state`), t.state1, 'Carpeta: new state');
		eq(await follow(citizen, () => citizen.click(`${row} td:nth-child(1) a`)), 200, 'the expedient');
		eq(await text(citizen, '#state'), t.state1, 'expedient: new state');
		const history = await citizen.locator('#history li').allTextContents();
		eq(history.length, 2, 'history entries');
		ok(history[0].endsWith(': ' + t.history0), `first history entry: ${history[0]}`);
		ok(history[1].endsWith(': ' + t.history1), `second history entry: ${history[1]}`);
		await j.check(citizen, 'expedient');

		// Anyone holding the CSV verifies the receipt.
		eq(await follow(citizen, () => citizen.click('#receipt a[href^="/verify"]')), 200, 'the verification page');
		eq(await text(citizen, '#verified'), t.verified, 'verification answer');
		eq(await text(citizen, '#registry-number'), registry, 'verified registry number');
		await j.check(citizen, 'verify');
	};
}

// Every page of the catalogue that the journeys above do not visit: each tràmit's page and
// form, the verification form, a code that matches nothing, a page that does not exist.
async function everyPage(j) {
	const page = await j.context({ acceptLanguage: 'ca' });
	eq(await j.goto(page, '/login'), 200, 'GET /login');
	eq(await follow(page, () => page.click('#signin-citizen')), 200, 'signed in');
	eq(await j.goto(page, '/'), 200, 'GET /');
	const hrefs = await page.locator('main ul.catalogue a').evaluateAll(as => as.map(a => a.getAttribute('href')));
	eq([...hrefs].sort().join(' '), '/tramits/GEN-001 /tramits/PAD-005 /tramits/PAR-004 /tramits/VIA-001',
	   'the catalogue');
	for (const href of hrefs.filter(h => h !== '/tramits/GEN-001')) {
		eq(await j.goto(page, href), 200, `GET ${href}`);
		await j.check(page, href);
		eq(await j.goto(page, href + '/new'), 200, `GET ${href}/new`);
		ok(await page.locator('#submit').count() === 1, `${href}/new has a submit button`);
		await j.check(page, href + '/new');
	}
	eq(await j.goto(page, '/verify'), 200, 'GET /verify');
	await j.check(page, 'verify-form');
	eq(await j.goto(page, '/verify?csv=0000-0000-0000-0000-0000-0000'), 404, 'an unknown CSV');
	eq(await text(page, '#not-found h2'), 'Document no trobat', 'unknown CSV heading');
	await j.check(page, 'verify-not-found');
	eq(await j.goto(page, '/no-such-page'), 404, 'a page that does not exist');
	eq(await text(page, 'h1'), 'Pàgina no trobada', 'not found heading');
	await j.check(page, 'not-found');
}

await main([['citizen files, employee acts (ca)', journey('ca')],
            ['citizen files, employee acts (es, phone)', journey('es')],
            ['every other page (ca)', everyPage]]);
