// Sign in with email and password; the session lives in HttpOnly cookies the server sets.
import { api, type LoginBody } from '../api.ts';
import { h, replace } from '../dom.ts';
import { field, onSubmit } from './form-helpers.ts';

export function loginPage(root: HTMLElement, done: (next: string) => void): void {
  const email = h('input', { name: 'email', type: 'email', required: true, autocomplete: 'username' });
  const password = h('input', { name: 'password', type: 'password', required: true, autocomplete: 'current-password' });
  const error = h('p', { class: 'error', role: 'alert' });
  const form = h(
    'form',
    { class: 'card narrow' },
    h('h1', {}, 'Sign in to m3w'),
    field('Email', email),
    field('Password', password),
    error,
    h('button', { type: 'submit' }, 'Sign in'),
  );
  onSubmit(form, error, async () => {
    const body: LoginBody = { email: email.value, password: password.value, session: 'cookie' };
    await api('POST', '/api/v1/auth/login', body);
    const next = new URLSearchParams(location.search).get('next');
    // Only a path on this site: an open redirect would make the login page a phishing tool.
    done(next?.startsWith('/') && !next.startsWith('//') && !next.startsWith('/login') ? next : '/');
  });
  replace(root, h('div', { class: 'center' }, form));
  email.focus();
}
