// The pieces every form uses: a labelled field and a submit that shows progress and the server's message.
import { ApiFailure } from '../api.ts';
import { h } from '../dom.ts';

export function field(label: string, input: HTMLInputElement | HTMLSelectElement): HTMLLabelElement {
  return h('label', { class: 'field' }, h('span', {}, label), input);
}

/** Runs `action` on submit with the button disabled; shows a failure in `errorEl` (role=alert). */
export function onSubmit(form: HTMLFormElement, errorEl: HTMLElement, action: () => Promise<void>): void {
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const button = form.querySelector<HTMLButtonElement>('button[type=submit]');
    if (button) button.disabled = true;
    errorEl.textContent = '';
    try {
      await action();
    } catch (err) {
      // An ApiFailure carries the server's message; a plain Error is the form's own sentence; a TypeError is
      // fetch failing to reach the server at all.
      errorEl.textContent =
        err instanceof ApiFailure || !(err instanceof TypeError)
          ? (err as Error).message
          : `Could not reach m3w: ${(err as Error).message}`;
    } finally {
      if (button) button.disabled = false;
    }
  });
}
