// Dynamic forms in a real browser, with JavaScript on: a conditional field appears when the
// answer that governs it changes (PAD-005, the server's dry run decides); then the grants form
// (PAR-004) is filled with a second instance of its repeatable group and a PDF, saved as a
// draft, resumed from the Carpeta (the file kept, not chosen again), reviewed, submitted, and
// its receipt downloaded by its CSV. Valencian on a desktop, then Spanish on a 390-pixel-wide
// phone: one after the other, since both are the demo citizen and a draft is per person.
import { eq, follow, main, matches, ok, pathOf, text } from './lib.mjs';

const T = {
	ca: {
		context: { acceptLanguage: 'ca' },
		title: 'Subvencions a associacions', saved: "S'ha desat l'esborrany. El podeu reprendre des d'aquest formulari o des de la vostra carpeta.",
		carpeta: 'Carpeta ciutadana', kept: 'Ja adjuntat: memoria.pdf', review: 'Reviseu la sol·licitud',
		submitted: "La vostra sol·licitud s'ha presentat correctament.", noDrafts: 'No teniu cap esborrany desat.',
		activity: ['Cercavila', 'Concert'],
	},
	es: {
		context: { acceptLanguage: 'es-ES,es;q=0.9', viewport: { width: 390, height: 844 } },
		title: 'Subvenciones a asociaciones', saved: 'Se ha guardado el borrador. Puede retomarlo desde este formulario o desde su carpeta.',
		carpeta: 'Carpeta ciudadana', kept: 'Ya adjuntado: memoria.pdf', review: 'Revise la solicitud',
		submitted: 'Su solicitud se ha presentado correctamente.', noDrafts: 'No tiene ningún borrador guardado.',
		activity: ['Pasacalle', 'Concierto'],
	},
};

const PDF = Buffer.from('%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n');

async function formJourney(j, lang) {
	const t = T[lang];
	const page = await j.context(t.context);
	eq(await j.goto(page, '/login'), 200, 'GET /login');
	eq(await follow(page, () => page.click('#signin-citizen')), 200, 'signed in');

	// A conditional field: hidden and disabled until the answer it depends on says otherwise.
	eq(await j.goto(page, '/tramits/PAD-005/new'), 200, 'the certificate form');
	ok(await page.locator('#w-des_de').isHidden(), 'the date is hidden at first');
	await page.selectOption('#f-tipus', 'historic');
	await page.waitForSelector('#w-des_de', { state: 'visible' });
	ok(await page.locator('#f-des_de').isEnabled(), 'the date can be answered once shown');
	await j.check(page, `conditional-${lang}`);
	await page.selectOption('#f-tipus', 'actual');
	await page.waitForSelector('#w-des_de', { state: 'hidden' });

	// The grants form: a second activity, a file, saved as a draft.
	eq(await j.goto(page, '/tramits/PAR-004/new'), 200, 'the grants form');
	await page.fill('#f-nif_entitat', 'G12345674');
	await page.fill('#f-nom_entitat', 'Associació Veïnal del Carme');
	await page.fill('#f-compte', 'ES9121000418450200051332');
	await page.fill('#f-descripcio', 'Festa del barri.');
	await page.fill('#f-pressupost', '5000');
	await page.fill('#f-import', '2500');
	await page.fill('#f-activitats-1-activitat', t.activity[0]);
	await page.fill('#f-activitats-1-data', '2026-06-20');
	eq(await follow(page, () => page.click('#add-activitats')), 200, 'another activity');
	eq(await page.inputValue('#f-activitats-1-activitat'), t.activity[0], 'the first activity is kept');
	await page.fill('#f-activitats-2-activitat', t.activity[1]);
	await page.fill('#f-activitats-2-data', '2026-06-21');
	await page.setInputFiles('#f-memoria', { name: 'memoria.pdf', mimeType: 'application/pdf', buffer: PDF });
	await j.check(page, `group-${lang}`);
	eq(await follow(page, () => page.click('#save-draft')), 200, 'the draft is saved');
	eq(pathOf(page), '/tramits/PAR-004/new?draft=saved', 'back on the form');
	eq(await text(page, '#notice'), t.saved, 'the draft is confirmed');
	await j.check(page, `draft-saved-${lang}`);

	// Resumed from the Carpeta: the answers and the staged file come back.
	eq(await follow(page, () => page.getByRole('link', { name: t.carpeta, exact: true }).click()), 200, 'the Carpeta');
	eq(await text(page, '#draft-PAR-004 a'), t.title, 'the Carpeta lists the draft');
	await j.check(page, `carpeta-drafts-${lang}`);
	eq(await follow(page, () => page.click('#draft-PAR-004 a')), 200, 'the draft resumed');
	eq(await page.inputValue('#f-activitats-2-activitat'), t.activity[1], 'the second activity is back');
	ok((await text(page, '#kept-memoria li')).startsWith(t.kept), 'the file is kept, not asked for again');
	await j.check(page, `resumed-${lang}`);

	// Reviewed, then submitted.
	eq(await follow(page, () => page.click('#submit')), 200, 'the review page');
	eq(await text(page, 'h1'), t.review, 'review heading');
	eq(await text(page, 'dd[data-field="activitats.2.activitat"]'), t.activity[1], 'the review lists the second activity');
	ok((await text(page, 'dd[data-field="memoria"] li')).startsWith('memoria.pdf'), 'the review lists the file');
	await j.check(page, `review-${lang}`);
	eq(await follow(page, () => page.click('#submit')), 200, 'the receipt page');
	matches(pathOf(page), /^\/carpeta\/expedients\/[0-9a-f-]{36}\?submitted=1$/, 'receipt address');
	eq(await text(page, '#submitted'), t.submitted, 'confirmation');
	const csv = await text(page, '#csv');
	matches(csv, /^[0-9A-Z]{4}(-[0-9A-Z]{4}){5}$/, 'CSV');
	await j.check(page, `receipt-${lang}`);

	// The receipt, downloaded by its CSV, is a PDF.
	const res = await page.request.get(`${j.base}/verify/${csv}/document`);
	eq(res.status(), 200, 'the receipt downloads');
	eq(res.headers()['content-type'], 'application/pdf', 'the receipt is a PDF');
	eq((await res.body()).subarray(0, 5).toString('latin1'), '%PDF-', 'the receipt starts as a PDF');

	// Filing consumed the draft.
	eq(await j.goto(page, '/carpeta'), 200, 'the Carpeta again');
	eq(await text(page, '#drafts-empty'), t.noDrafts, 'no draft left');
}

await main([['forms: condition, group, upload, draft, review (ca, then es on a phone)', async j => {
	await formJourney(j, 'ca');
	await formJourney(j, 'es');
}]]);
