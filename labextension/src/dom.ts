/**
 * Tiny DOM helpers. Every piece of payload text goes through `textContent`
 * (never `innerHTML`), so alert names, log lines and column names are shown as
 * text whatever characters they hold.
 */

export function el<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  className?: string,
  text?: string
): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  if (className) {
    node.className = className;
  }
  if (text !== undefined) {
    node.textContent = text;
  }
  return node;
}

export function append(parent: Node, ...children: Node[]): void {
  for (const c of children) {
    parent.appendChild(c);
  }
}
