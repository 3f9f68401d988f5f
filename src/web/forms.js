// Helpers the page's cards share: a form wired to an API call, and a name edited in place.

import { $, busy, fields, h, say, sayError } from './common.js';

export /** Wires a form to an API call; `done` gets the answer and says what happened. */
function form(id, work, done) {
  const el = $(id);
  const msg = el.querySelector('.msg');
  el.addEventListener('submit', (event) => {
    event.preventDefault();
    const submit = el.querySelector('button[type=submit]');
    busy(submit, async () => {
      say(msg, '');
      let answer;
      try {
        answer = await work(fields(el));
      } catch (err) {
        sayError(msg, err);
        return;
      }
      await done(answer, el, msg);
    });
  });
}

/**
 * Makes `button` edit a name in place of `title` (a session's, a passkey's): a one-field form
 * labelled `label`, whose Save calls `save` with the trimmed name; Cancel or Escape puts the
 * title back. `save` reloads the list on success, which replaces the form.
 */
export function renameInPlace(title, button, { name, label, placeholder, save }) {
  button.addEventListener('click', () => {
    const input = h('input', { name: 'name', maxlength: 64, required: '', 'aria-label': label, placeholder });
    input.value = name ?? '';
    const submit = h('button', { type: 'submit', class: 'primary small' }, 'Save');
    const cancel = h('button', { type: 'button', class: 'quiet small' }, 'Cancel');
    const form = h('form', { class: 'rename' }, input, submit, cancel);
    const close = () => {
      form.replaceWith(title);
      button.hidden = false;
      button.focus();
    };
    cancel.addEventListener('click', close);
    input.addEventListener('keydown', (event) => {
      if (event.key === 'Escape') close();
    });
    form.addEventListener('submit', (event) => {
      event.preventDefault();
      busy(submit, () => save(input.value.trim()));
    });
    title.replaceWith(form);
    button.hidden = true;
    input.focus();
    input.select();
  });
}
