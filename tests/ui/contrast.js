// WCAG 2.x contrast of every visible text against the background it is drawn on (the first
// opaque background up the tree). Disabled controls are exempt, as WCAG exempts them.
// Evaluated in the page by tests/ui/browser.py: returns the failures as sentences.
() => {
  const parse = (value) => {
    const m = value.match(/rgba?\(([^)]+)\)/);
    if (!m) return null;
    const [r, g, b, a = 1] = m[1].split(/[ ,\/]+/).filter(Boolean).map(Number);
    return { r, g, b, a };
  };
  const channel = (c) => {
    const s = c / 255;
    return s <= 0.03928 ? s / 12.92 : ((s + 0.055) / 1.055) ** 2.4;
  };
  const luminance = ({ r, g, b }) => 0.2126 * channel(r) + 0.7152 * channel(g) + 0.0722 * channel(b);
  const background = (element) => {
    for (let node = element; node; node = node.parentElement) {
      const color = parse(getComputedStyle(node).backgroundColor);
      if (color && color.a >= 0.99) return color;
    }
    return { r: 255, g: 255, b: 255, a: 1 };
  };
  const failures = [];
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  const seen = new Set();
  while (walker.nextNode()) {
    const text = walker.currentNode.textContent.trim();
    const element = walker.currentNode.parentElement;
    if (!text || !element || seen.has(element)) continue;
    seen.add(element);
    if (element.closest(".visually-hidden, [hidden], fieldset:disabled, [aria-hidden=true]")) continue;
    if (element.closest("button:disabled, input:disabled, select:disabled, textarea:disabled")) continue;
    const box = element.getBoundingClientRect();
    if (!box.width || !box.height || element.checkVisibility?.() === false) continue;
    const style = getComputedStyle(element);
    const color = parse(style.color);
    if (!color) continue;
    const back = background(element);
    const [hi, lo] = [luminance(color), luminance(back)].sort((a, b) => b - a);
    const ratio = (hi + 0.05) / (lo + 0.05);
    const size = parseFloat(style.fontSize);
    const large = size >= 24 || (size >= 18.66 && Number(style.fontWeight) >= 700);
    if (ratio < (large ? 3 : 4.5)) {
      failures.push(`${ratio.toFixed(2)}: "${text.slice(0, 40)}" (${style.color} on rgb(${back.r}, ${back.g}, ${back.b}))`);
    }
  }
  return failures;
}
