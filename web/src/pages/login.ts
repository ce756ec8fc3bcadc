// Sign in with email and password; the session lives in HttpOnly cookies the server sets.
import { ApiFailure, api, type LoginBody } from '../api.ts';
import { h, replace } from '../dom.ts';
import { field, onSubmit } from './form-helpers.ts';

export function loginPage(root: HTMLElement, done: (next: string) => void): void {
  const email = h('input', { name: 'email', type: 'email', required: true, autocomplete: 'username' });
  const password = h('input', { name: 'password', type: 'password', required: true, autocomplete: 'current-password' });
  const error = h('p', { class: 'error', role: 'alert' });
  const form = h(
    'form',
    { class: 'card narrow', novalidate: true },
    h('h1', {}, 'Sign in to m3w'),
    field('Email', email),
    field('Password', password),
    error,
    h('button', { type: 'submit' }, 'Sign in'),
  );
  onSubmit(form, error, async () => {
    // Messages a person reads, not the validator's ("email and password must be strings").
    if (!email.value.trim() || !password.value) throw new Error('Email and password are required.');
    if (password.value.length > 1024) throw new Error('That password is too long to be an m3w password.');
    const body: LoginBody = { email: email.value, password: password.value, session: 'cookie' };
    try {
      await api('POST', '/api/v1/auth/login', body);
    } catch (err) {
      if (err instanceof ApiFailure && err.status === 400)
        throw new ApiFailure(400, err.code, 'Check the email and password: the server could not read them.');
      throw err;
    }
    const next = new URLSearchParams(location.search).get('next');
    // Only a path on this site: an open redirect would make the login page a phishing tool.
    done(next?.startsWith('/') && !next.startsWith('//') && !next.startsWith('/login') ? next : '/');
  });
  replace(root, h('main', { class: 'center' }, form));
  email.focus();
}
