// First run: create the first admin with the one-time token from the setup link (/setup#<token>). The token
// travels in the fragment so it never reaches a server log or a Referer header.
import { api, type LoginBody, type SetupBody } from '../api.ts';
import { h, replace } from '../dom.ts';
import { field, onSubmit } from './form-helpers.ts';

export function setupPage(root: HTMLElement, done: () => void): void {
  const token = h('input', {
    name: 'token',
    required: true,
    autocomplete: 'off',
    value: decodeURIComponent(location.hash.slice(1)),
  });
  const email = h('input', { name: 'email', type: 'email', required: true, autocomplete: 'username' });
  const password = h('input', {
    name: 'password',
    type: 'password',
    required: true,
    minlength: 10,
    autocomplete: 'new-password',
  });
  const error = h('p', { class: 'error', role: 'alert' });
  const form = h(
    'form',
    { class: 'card narrow' },
    h('h1', {}, 'Welcome to m3w'),
    h('p', {}, 'Create the first administrator. The setup token is in the link m3w printed when it started.'),
    location.hash.length > 1 ? null : field('Setup token', token),
    field('Email', email),
    field('Password (at least 10 characters)', password),
    error,
    h('button', { type: 'submit' }, 'Create admin and sign in'),
  );
  onSubmit(form, error, async () => {
    await api('POST', '/api/v1/auth/setup', {
      token: token.value.trim(),
      email: email.value,
      password: password.value,
      session: 'cookie',
    } satisfies SetupBody);
    // Setup signs the new admin in with cookies; should it not have, signing in with the same credentials does.
    if (!document.cookie.includes('m3w_csrf='))
      await api('POST', '/api/v1/auth/login', {
        email: email.value,
        password: password.value,
        session: 'cookie',
      } satisfies LoginBody);
    history.replaceState(null, '', '/');
    done();
  });
  replace(root, h('div', { class: 'center' }, form));
  (location.hash.length > 1 ? email : token).focus();
}
