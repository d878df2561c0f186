// The form with JavaScript turned off, in Spanish: sign-in, a post with two errors (a missing
// required field and a malformed e-mail address), the corrected post and the receipt all work
// through plain HTML forms and redirects. axe-core checks each page (in a copy with scripts on,
// since axe itself is a script).
import { attr, eq, follow, main, matches, pathOf, registryYear, text } from './lib.mjs';


await main([['form without JavaScript (es)', async j => {
	const page = await j.context({ acceptLanguage: 'es-ES,es;q=0.9', javaScript: false });
	// Scripts are really off: a page whose script would rename it keeps its title.
	await page.route(j.base + '/probe', r => r.fulfill({ contentType: 'text/html',
		body: '<title>off</title><script>document.title = "on"</script>' }));
	await j.goto(page, '/probe');
	eq(await page.title(), 'off', 'scripts disabled');
	await page.unroute(j.base + '/probe');
	eq(await j.goto(page, '/tramits/GEN-001/new'), 200, 'the sign-in page');
	eq(pathOf(page), '/login?next=%2Ftramits%2FGEN-001%2Fnew', 'the form asks to sign in first');
	await j.check(page, 'login');
	eq(await follow(page, () => page.click('#signin-citizen')), 200, 'the form');
	eq(pathOf(page), '/tramits/GEN-001/new', 'back to the form');
	eq(await attr(page, 'html', 'lang'), 'es', 'form language');
	eq(await text(page, 'h1'), 'Instancia general', 'form heading');
	await j.check(page, 'form');

	await page.fill('#f-assumpte', 'Bache en la calle Mayor');
	await page.fill('#f-exposa', 'Hay un bache profundo delante del número 3.');
	await page.fill('#f-correu', 'sin-arroba');
	await page.selectOption('#f-idioma', 'es');
	eq(await follow(page, () => page.click('#submit')), 422, 'a form with two errors');
	const summary = await page.locator('#error-summary li a').evaluateAll(
		as => as.map(a => [a.getAttribute('href'), a.textContent]));
	const expected = [
		['#f-solicita', 'Debe rellenar «Solicita».'],
		['#f-correu', '«Correo electrónico» no es una dirección de correo válida (nombre@dominio.es).'],
	];
	eq(JSON.stringify(summary), JSON.stringify(expected), 'the error summary, in form order');
	eq(await page.evaluate(() => document.activeElement.id), 'error-summary', 'focus starts on the summary, without scripts');
	eq(await text(page, '#e-solicita'), expected[0][1], 'error beside «Solicita»');
	eq(await text(page, '#e-correu'), expected[1][1], 'error beside «Correo electrónico»');
	eq(await page.inputValue('#f-correu'), 'sin-arroba', 'the wrong answer is kept to correct it');
	eq(await page.inputValue('#f-assumpte'), 'Bache en la calle Mayor', 'right answers are kept');
	await j.check(page, 'form-errors');

	await page.fill('#f-solicita', 'Que lo reparen.');
	await page.fill('#f-correu', 'maria.demo@example.org');
	eq(await follow(page, () => page.click('#submit')), 200, 'the review page');
	eq(await text(page, 'h1'), 'Revise la solicitud', 'review heading');
	await j.check(page, 'review');
	eq(await follow(page, () => page.click('#submit')), 200, 'the receipt');
	matches(pathOf(page), /^\/carpeta\/expedients\/[0-9a-f-]{36}\?submitted=1$/, 'receipt address');
	eq(await text(page, '#submitted'), 'Su solicitud se ha presentado correctamente.', 'confirmation');
	matches(await text(page, '#registry-number'), new RegExp(`^E/${registryYear()}/\\d{6}$`), 'registry number');
	matches(await text(page, '#csv'), /^[0-9A-Z]{4}(-[0-9A-Z]{4}){5}$/, 'CSV');
	eq(await text(page, '#state'), 'En tramitación', 'state');
	eq(await text(page, '#data dd[data-field="correu"]'), 'maria.demo@example.org', 'the corrected answer is stored');
	await j.check(page, 'receipt');
}]]);
