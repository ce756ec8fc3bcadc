// A tiny element builder: h('button', { class: 'x', onclick }, 'text', child). Text is always set as text,
// never parsed as HTML, so data from the server cannot inject markup (and the CSP forbids inline script anyway).
export type Child = Node | string | number | null | undefined | false | Child[];
type Attrs = Record<string, string | number | boolean | null | undefined | EventListener>;

export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attrs: Attrs = {},
  ...children: Child[]
): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === null || value === undefined || value === false) continue;
    if (typeof value === 'function') el.addEventListener(name.replace(/^on/, ''), value);
    else if (value === true) el.setAttribute(name, '');
    else el.setAttribute(name, String(value));
  }
  append(el, children);
  return el;
}

export function append(parent: Node, children: Child[]): void {
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    if (Array.isArray(c)) append(parent, c);
    else parent.appendChild(typeof c === 'object' ? c : document.createTextNode(String(c)));
  }
}

/** Replaces everything inside `el`. */
export function replace(el: Element, ...children: Child[]): void {
  el.replaceChildren();
  append(el, children);
}

/** A button that copies `text` and says so. */
export function copyButton(text: () => string, label = 'Copy'): HTMLButtonElement {
  const b = h('button', { type: 'button', class: 'secondary copy' }, label);
  b.addEventListener('click', async () => {
    try {
      await navigator.clipboard.writeText(text());
      b.textContent = 'Copied';
    } catch {
      // Clipboard needs a secure context (https or localhost); on a LAN address select the text instead.
      b.textContent = 'Select and copy';
    }
    setTimeout(() => (b.textContent = label), 1500);
  });
  return b;
}

/**
 * Copies each column's header text onto its cells (data-label), so that on a phone a wide table can be drawn as
 * stacked cards with every value named.
 */
export function labelCells(table: HTMLTableElement): HTMLTableElement {
  const labels = [...table.querySelectorAll('thead th')].map((th) => th.textContent?.trim() ?? '');
  for (const tr of table.querySelectorAll('tbody tr'))
    [...tr.children].forEach((td, i) => {
      if (labels[i]) (td as HTMLElement).dataset.label = labels[i]!;
    });
  return table;
}

/** A header cell for a column of buttons: named for screen readers, blank on screen. */
export const actionsHeader = () => h('th', { scope: 'col' }, h('span', { class: 'visually-hidden' }, 'Actions'));
