// Subsanación (art. 68 LPAC) end to end in a real browser: the citizen files the grants form
// (PAR-004) with a second activity and a PDF; the employee asks for a correction, first
// without saying what (refused beside the field), then with the text; the citizen finds the
// binding notification waiting, opens it (the access is recorded and shown), reads the text,
// corrects the pre-filled form (one answer changed, the file kept) and gets a second registry
// entry with its receipt; the employee sees the corrected answer and the new entry and rejects
// the application (a binding notification), which the citizen opens. Valencian on a desktop,
// then Spanish on a 390-pixel-wide phone: one after the other, since both are the demo
// citizen. Nothing is saved as a draft, so the other scripts' drafts are left alone.
import { attr, eq, follow, main, matches, ok, pathOf, registryYear, text } from './lib.mjs';

const T = {
	ca: {
		context: { acceptLanguage: 'ca' },
		activity: ['Cercavila', 'Concert'],
		submitted: "La vostra sol·licitud s'ha presentat correctament.",
		fixAction: 'Requerir esmena', rejectAction: 'Desestimar',
		reasonEmpty: "Escriviu què ha d'esmenar la persona interessada.",
		reason: 'Adjunteu el pressupost detallat per partides i corregiu la descripció del projecte.',
		done: 'Acció registrada.', fixing: "Pendent d'esmena", evaluating: 'En avaluació', rejected: 'Desestimada',
		notifOpen: "Pendent d'obrir", notifOpened: 'Oberta', todo: 'Què heu de fer', fix: 'Esmenar',
		kept: 'Ja adjuntat: memoria.pdf', review: 'Reviseu la sol·licitud',
		description: 'Festa del barri, amb el pressupost per partides: música, 1.500 €; escenari, 3.500 €.',
		corrected: "La vostra esmena s'ha presentat correctament i s'ha registrat.",
	},
	es: {
		context: { acceptLanguage: 'es-ES,es;q=0.9', viewport: { width: 390, height: 844 } },
		activity: ['Pasacalle', 'Concierto'],
		submitted: 'Su solicitud se ha presentado correctamente.',
		fixAction: 'Requerir subsanación', rejectAction: 'Desestimar',
		reasonEmpty: 'Escriba qué debe subsanar la persona interesada.',
		reason: 'Adjunte el presupuesto detallado por partidas y corrija la descripción del proyecto.',
		done: 'Acción registrada.', fixing: 'Pendiente de subsanación', evaluating: 'En evaluación', rejected: 'Desestimada',
		notifOpen: 'Pendiente de abrir', notifOpened: 'Abierta', todo: 'Qué debe hacer', fix: 'Subsanar',
		kept: 'Ya adjuntado: memoria.pdf', review: 'Revise la solicitud',
		description: 'Fiesta del barrio, con el presupuesto por partidas: música, 1.500 €; escenario, 3.500 €.',
		corrected: 'Su subsanación se ha presentado correctamente y se ha registrado.',
	},
};

const PDF = Buffer.from('%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n');
const ENTRY = new RegExp(`^E/${registryYear()}/\\d{6}$`);
const CSV = /^[0-9A-Z]{4}(-[0-9A-Z]{4}){5}$/;

// The citizen opens the binding notification of this expedient waiting in the Carpeta; the
// access is recorded and its time shown with the content. Returns nothing; checks each page.
async function openNotification(j, page, number, template, lang, label, t) {
	eq(await j.goto(page, '/carpeta'), 200, 'the Carpeta');
	const row = page.locator('#notif-waiting tbody tr', { hasText: number });
	eq(await row.count(), 1, `one notification waiting for ${number}`);
	eq((await row.locator('td.state').textContent()).trim(), t.notifOpen, 'waiting to be opened');
	await j.check(page, `carpeta-${label}-${lang}`);
	eq(await follow(page, () => row.locator('a').click()), 200, 'the notification page');
	eq(await text(page, '#notif-state'), t.notifOpen, 'not opened yet');
	eq(await page.locator('#notif-content').count(), 0, 'no content before it is opened');
	await j.check(page, `notification-${label}-${lang}`);
	eq(await follow(page, () => page.click('#open')), 200, 'the notification opened');
	matches(pathOf(page), /^\/carpeta\/notificacions\/[0-9a-f-]{36}$/, 'notification address');
	eq(await text(page, '#notif-state'), t.notifOpened, 'opened');
	matches(await text(page, '#notif-accessed'), /\d{2}:\d{2}:\d{2}$/, 'the access time is shown');
	eq(await text(page, 'h1'), `${lang === 'es' ? 'Notificación' : 'Notificació'}: ${template}`, 'which notification');
	await j.check(page, `notification-${label}-opened-${lang}`);
}

async function correctionJourney(j, lang) {
	const t = T[lang];
	const citizen = await j.context(t.context);
	eq(await j.goto(citizen, '/login'), 200, 'GET /login');
	eq(await follow(citizen, () => citizen.click('#signin-citizen')), 200, 'the citizen signed in');

	// Filed: two activities and a PDF, reviewed, registered.
	eq(await j.goto(citizen, '/tramits/PAR-004/new'), 200, 'the grants form');
	await citizen.fill('#f-nif_entitat', 'G12345674');
	await citizen.fill('#f-nom_entitat', 'Associació Veïnal del Carme');
	await citizen.fill('#f-compte', 'ES9121000418450200051332');
	await citizen.fill('#f-descripcio', 'Festa del barri.');
	await citizen.fill('#f-pressupost', '5000');
	await citizen.fill('#f-import', '2500');
	await citizen.fill('#f-activitats-1-activitat', t.activity[0]);
	await citizen.fill('#f-activitats-1-data', '2026-06-20');
	eq(await follow(citizen, () => citizen.click('#add-activitats')), 200, 'another activity');
	await citizen.fill('#f-activitats-2-activitat', t.activity[1]);
	await citizen.fill('#f-activitats-2-data', '2026-06-21');
	await citizen.setInputFiles('#f-memoria', { name: 'memoria.pdf', mimeType: 'application/pdf', buffer: PDF });
	await j.check(citizen, `form-${lang}`);
	eq(await follow(citizen, () => citizen.click('#submit')), 200, 'the review page');
	eq(await text(citizen, 'h1'), t.review, 'review heading');
	await j.check(citizen, `review-${lang}`);
	eq(await follow(citizen, () => citizen.click('#submit')), 200, 'the receipt page');
	const receipt = pathOf(citizen).match(/^\/carpeta\/expedients\/([0-9a-f-]{36})\?submitted=1$/);
	ok(receipt, `receipt address: ${pathOf(citizen)}`);
	const id = receipt[1];
	eq(await text(citizen, '#submitted'), t.submitted, 'confirmation');
	const first = await text(citizen, '#registry-number');
	matches(first, ENTRY, 'the first registry number');
	matches(await text(citizen, '#csv'), CSV, 'the first CSV');
	const number = (await text(citizen, 'h1')).split(' ').pop();
	matches(number, /^\d{4}\/\d{6}$/, 'the expedient number');
	await j.check(citizen, `receipt-${lang}`);

	// The employee asks for a correction: without saying what, refused beside the field.
	const employee = await j.context(t.context);
	eq(await j.goto(employee, '/login'), 200, 'GET /login (employee)');
	eq(await follow(employee, () => employee.click('#signin-employee')), 200, 'the employee signed in');
	eq(await j.goto(employee, '/backoffice'), 200, 'the back office');
	eq(await employee.locator(`tr[data-id="${id}"]`).count(), 1, 'the inbox lists the application');
	eq(await j.goto(employee, `/backoffice/expedients/${id}`), 200, 'the expedient in the back office');
	eq(await text(employee, '#action-request_fix'), t.fixAction, 'the request button');
	await j.check(employee, `backoffice-${lang}`);
	await employee.fill('#reason-request_fix', '   ');
	eq(await follow(employee, () => employee.click('#action-request_fix')), 422, 'a blank text is refused');
	eq(await text(employee, '#reason-request_fix-error'), t.reasonEmpty, 'the message beside the field');
	eq(await attr(employee, '#reason-request_fix', 'aria-invalid'), 'true', 'the field is marked wrong');
	eq(await text(employee, '#state'), t.evaluating, 'nothing changed');
	await j.check(employee, `reason-refused-${lang}`);
	await employee.fill('#reason-request_fix', t.reason);
	eq(await follow(employee, () => employee.click('#action-request_fix')), 200, 'the correction is requested');
	eq(pathOf(employee), `/backoffice/expedients/${id}?done=1`, 'back to the expedient');
	eq(await text(employee, '#done'), t.done, 'done');
	eq(await text(employee, '#state'), t.fixing, 'waiting for the correction');
	ok((await text(employee, '#history')).includes(t.reason), 'the history keeps the text');
	await j.check(employee, `requested-${lang}`);

	// The citizen opens the requirement and reads what to correct.
	await openNotification(j, citizen, number, 'requeriment', lang, 'requirement', t);
	eq(await text(citizen, '#notif-reason'), t.reason, 'the notification says what to correct');
	eq(await follow(citizen, () => citizen.click(`a[href="/carpeta/expedients/${id}"]`)), 200, 'the expedient');
	eq(await text(citizen, '#state'), t.fixing, 'the citizen sees the state');
	eq(await text(citizen, '#todo-h'), t.todo, 'what to do');
	eq(await text(citizen, '#todo-reason'), t.reason, 'the text on the expedient page');
	eq(await text(citizen, '#action-fix'), t.fix, 'the correction button');
	await j.check(citizen, `todo-${lang}`);

	// The form comes back filled in; one answer changes, the file stays.
	eq(await follow(citizen, () => citizen.click('#action-fix')), 200, 'the correction form');
	eq(pathOf(citizen), `/carpeta/expedients/${id}/actions/fix`, 'correction address');
	eq(await citizen.inputValue('#f-nom_entitat'), 'Associació Veïnal del Carme', 'the name is filled in');
	eq(await citizen.inputValue('#f-import'), '2500,00', 'the amount is filled in, in euros');
	eq(await citizen.inputValue('#f-activitats-2-activitat'), t.activity[1], 'the second activity is back');
	ok((await text(citizen, '#kept-memoria li')).startsWith(t.kept), 'the file is kept');
	eq(await citizen.locator('#save-draft').count(), 0, 'a correction is not saved as a draft');
	await j.check(citizen, `correction-form-${lang}`);
	await citizen.fill('#f-descripcio', t.description);
	eq(await follow(citizen, () => citizen.click('#submit')), 200, 'the correction reviewed');
	eq(await text(citizen, 'dd[data-field="descripcio"]'), t.description, 'the review shows the new answer');
	ok((await text(citizen, 'dd[data-field="memoria"] li')).startsWith('memoria.pdf'), 'the review lists the file');
	await j.check(citizen, `correction-review-${lang}`);
	eq(await follow(citizen, () => citizen.click('#submit')), 200, 'the correction filed');
	eq(pathOf(citizen), `/carpeta/expedients/${id}?corrected=1`, 'the correction receipt');
	eq(await text(citizen, '#corrected'), t.corrected, 'confirmation of the correction');
	eq(await text(citizen, '#state'), t.evaluating, 'back to evaluation');
	const second = await text(citizen, '#filed-entries td.registry-number');
	matches(second, ENTRY, 'the second registry number');
	ok(second !== first, `a new entry (${first}, then ${second})`);
	matches((await citizen.locator('#filed-entries td.csv').textContent()).trim().split(' ')[0], CSV, 'its CSV');
	eq(await citizen.locator('#todo').count(), 0, 'nothing left to do');
	eq(await text(citizen, '#registry-number'), first, 'the first receipt stays');
	await j.check(citizen, `corrected-${lang}`);

	// The employee sees the correction and rejects the application.
	eq(await j.goto(employee, `/backoffice/expedients/${id}`), 200, 'the corrected expedient');
	eq(await text(employee, '#state'), t.evaluating, 'evaluating again');
	eq(await text(employee, 'dd[data-field="descripcio"]'), t.description, 'the corrected answer');
	eq(await text(employee, '#filed-entries td.registry-number'), second, 'the new registry entry');
	await j.check(employee, `corrected-backoffice-${lang}`);
	// The registry book lists the new entry; on a phone its table scrolls inside its own region.
	eq(await j.goto(employee, '/backoffice/registry'), 200, 'the registry book');
	ok((await employee.locator('#book').textContent()).includes(second), 'the book lists the new entry');
	await j.check(employee, `registry-${lang}`);
	eq(await j.goto(employee, `/backoffice/expedients/${id}`), 200, 'the expedient again');
	eq(await text(employee, '#action-reject'), t.rejectAction, 'the reject button');
	eq(await employee.locator('#reason-reject').count(), 0, 'rejecting asks for no correction text');
	eq(await follow(employee, () => employee.click('#action-reject')), 200, 'rejected');
	eq(await text(employee, '#state'), t.rejected, 'rejected');
	await j.check(employee, `rejected-${lang}`);

	// The citizen opens the resolution.
	await openNotification(j, citizen, number, 'resolucio_desestimacio', lang, 'resolution', t);
	eq(await citizen.locator('#notif-reason').count(), 0, 'the resolution asks for nothing');
	eq(await follow(citizen, () => citizen.click(`a[href="/carpeta/expedients/${id}"]`)), 200, 'the expedient');
	eq(await text(citizen, '#state'), t.rejected, 'the citizen sees the decision');
	await j.check(citizen, `decided-${lang}`);
}

await main([['correction: request with a text, notification, pre-filled form, second entry, rejection (ca, then es on a phone)', async j => {
	await correctionJourney(j, 'ca');
	await correctionJourney(j, 'es');
}]]);
