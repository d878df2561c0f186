// Keyboard only, in Valencian: sign in with Tab and Enter; Tab walks from the top of the form
// page through every field and the submit button in order, each with a visible focus ring;
// the skip link leads to the content; Enter in a field submits; the error page opens with the
// focus on the error summary, whose link puts the cursor in the field; Enter submits again.
import { eq, follow, main, matches, ok, pathOf, registryYear, text } from './lib.mjs';


// What has the focus now: its id (or its text for a link without one), and whether a focus
// ring shows.
function focused(page) {
	return page.evaluate(() => {
		const el = document.activeElement;
		const s = getComputedStyle(el);
		return {
			id: el.id || (el.tagName === 'A' ? 'link:' + el.textContent.trim() : el.tagName.toLowerCase()),
			inForm: !!el.closest('main form'),
			ring: s.outlineStyle !== 'none' && parseFloat(s.outlineWidth) >= 2,
			visible: el.getBoundingClientRect().left >= 0,
		};
	});
}

// Presses Tab until the focus is on id; fails after max presses. Returns the stops on the way.
async function tabTo(page, id, max = 40) {
	const stops = [];
	for (let i = 0; i < max; i++) {
		await page.keyboard.press('Tab');
		const f = await focused(page);
		stops.push(f);
		if (f.id === id)
			return stops;
	}
	throw new Error(`Tab did not reach #${id} in ${max} presses: ${stops.map(s => s.id).join(', ')}`);
}

const FIELDS = ['f-assumpte', 'f-exposa', 'f-solicita', 'f-correu', 'f-telefon', 'f-idioma'];

await main([['keyboard only (ca)', async j => {
	const page = await j.context({ acceptLanguage: 'ca' });
	eq(await j.goto(page, '/login?next=%2Ftramits%2FGEN-001%2Fnew'), 200, 'the sign-in page');
	await tabTo(page, 'signin-citizen');
	eq(await follow(page, () => page.keyboard.press('Enter')), 200, 'the form after Enter on sign-in');
	eq(pathOf(page), '/tramits/GEN-001/new', 'signed in and on the form');

	// From the top: the skip link first, then the header, then every field and the button.
	const stops = await tabTo(page, 'submit');
	eq(stops[0].id, 'link:Anar al contingut', 'the first Tab stop is the skip link');
	ok(stops[0].visible, 'the skip link shows when it has the focus');
	eq(stops.filter(s => s.inForm).map(s => s.id).join(' '), [...FIELDS, 'submit'].join(' '),
	   'Tab order through the form');
	for (const s of stops)
		ok(s.ring, `no visible focus ring on ${s.id}`);
	await j.check(page, 'form');

	// Skip link, then the fields in order, typing; Enter in a field submits.
	await page.reload();
	await page.keyboard.press('Tab');
	await page.keyboard.press('Enter');
	await page.keyboard.press('Tab');
	eq((await focused(page)).id, 'f-assumpte', 'after the skip link, Tab goes to the first field');
	const answers = {
		'f-exposa': 'Hi ha un fanal apagat al carrer Major.',
		'f-solicita': 'Que el reparen.',
		'f-correu': 'maria.demo@example.org',
		'f-telefon': '961234567',
	};
	for (const id of FIELDS.slice(1)) {
		await page.keyboard.press('Tab');
		eq((await focused(page)).id, id, 'Tab order while filling');
		if (answers[id])
			await page.keyboard.type(answers[id]);
		else
			await page.keyboard.type('Val'); // type-ahead picks «Valencià» in the list
	}
	eq(await page.inputValue('#f-idioma'), 'ca', 'type-ahead chose the language');
	await page.keyboard.press('Shift+Tab');
	eq((await focused(page)).id, 'f-telefon', 'Shift+Tab goes back');
	eq(await follow(page, () => page.keyboard.press('Enter')), 422, 'Enter submits (subject missing)');
	await j.check(page, 'form-errors');

	// The focus starts on the error summary; the next Tab is its link, which takes the
	// cursor to the field.
	eq((await focused(page)).id, 'error-summary', 'focus on the error page');
	ok((await focused(page)).ring, 'the focused error summary shows a focus ring');
	await page.keyboard.press('Tab');
	eq((await focused(page)).id, 'link:Cal omplir «Assumpte».', 'Tab from the summary');
	await page.keyboard.press('Enter');
	eq((await focused(page)).id, 'f-assumpte', 'the summary link moves the focus to the field');
	await page.keyboard.type('Fanal apagat');
	eq(await follow(page, () => page.keyboard.press('Enter')), 200, 'Enter submits the corrected form');
	eq(await text(page, 'h1'), 'Reviseu la sol·licitud', 'Enter leads to the review page');
	await j.check(page, 'review');
	await tabTo(page, 'submit');
	eq(await follow(page, () => page.keyboard.press('Enter')), 200, 'Enter on «Presentar» files it');
	matches(pathOf(page), /^\/carpeta\/expedients\/[0-9a-f-]{36}\?submitted=1$/, 'receipt address');
	matches(await text(page, '#registry-number'), new RegExp(`^E/${registryYear()}/\\d{6}$`), 'registry number');
	eq(await text(page, '#data dd[data-field="telefon"]'), '961234567', 'typed answers are stored');
	await j.check(page, 'receipt');
}]]);
