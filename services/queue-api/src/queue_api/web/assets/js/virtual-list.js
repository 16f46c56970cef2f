// A windowed listbox: only the rows in view (plus a margin) exist in the DOM, so a queue of
// thousands scrolls as fast as one of ten. Keyboard: arrows, Page Up/Down, Home/End move the
// active row (aria-activedescendant); Enter or Space opens it.

const OVERSCAN = 6;

export class VirtualList {
  /**
   * root: the scrolling element (role="listbox", tabindex="0").
   * rowHeight: px, the same for every row. key(item) → unique string.
   * renderRow(item, index) → an element (the list sets its position, id, role and state).
   * onOpen(item, {keyboard}) when a row is chosen; onNearEnd() when the end comes into view.
   */
  constructor(root, { rowHeight, key, renderRow, onOpen, onNearEnd }) {
    this.root = root;
    this.rowHeight = rowHeight;
    this.key = key;
    this.renderRow = renderRow;
    this.onOpen = onOpen || (() => {});
    this.onNearEnd = onNearEnd || (() => {});
    this.items = [];
    this.total = -1;
    this.activeIndex = -1;
    this.selectedKey = null;
    this.arrived = new Set();
    this.cache = new Map();
    this.spacer = document.createElement("div");
    this.spacer.className = "spacer-rows";
    this.spacer.setAttribute("role", "presentation");
    root.append(this.spacer);
    this.frame = 0;
    root.addEventListener("scroll", () => this.schedule(), { passive: true });
    root.addEventListener("keydown", (event) => this.keydown(event));
    root.addEventListener("focus", () => {
      if (this.activeIndex < 0 && this.items.length) this.setActive(this.selectedIndex() ?? 0);
      this.root.classList.add("has-focus");
    });
    root.addEventListener("blur", () => this.root.classList.remove("has-focus"));
    root.addEventListener("click", (event) => {
      const row = event.target.closest("[data-index]");
      if (!row) return;
      const index = Number(row.dataset.index);
      this.setActive(index);
      this.onOpen(this.items[index], { keyboard: false });
    });
    new ResizeObserver(() => this.schedule()).observe(root);
  }

  /** Replace the items; ``total`` is the known size (-1 while more pages may follow). */
  setItems(items, total = -1) {
    const activeKey = this.activeIndex >= 0 ? this.keyAt(this.activeIndex) : null;
    this.items = items;
    this.total = total;
    this.spacer.style.height = `${items.length * this.rowHeight}px`;
    if (activeKey !== null) {
      const index = items.findIndex((item) => this.key(item) === activeKey);
      this.activeIndex = index >= 0 ? index : Math.min(this.activeIndex, items.length - 1);
    }
    this.render();
  }

  markArrived(key) {
    this.arrived.add(key);
    setTimeout(() => this.arrived.delete(key), 2500);
  }

  keyAt(index) {
    const item = this.items[index];
    return item === undefined ? null : this.key(item);
  }

  selectedIndex() {
    if (this.selectedKey === null) return null;
    const index = this.items.findIndex((item) => this.key(item) === this.selectedKey);
    return index >= 0 ? index : null;
  }

  setSelected(key) {
    this.selectedKey = key;
    const index = this.selectedIndex();
    if (index !== null) this.activeIndex = index;
    this.render();
  }

  setActive(index, { scroll = true } = {}) {
    if (!this.items.length) return;
    this.activeIndex = Math.max(0, Math.min(index, this.items.length - 1));
    if (scroll) this.scrollIntoView(this.activeIndex);
    this.render();
  }

  scrollIntoView(index) {
    const top = index * this.rowHeight;
    const bottom = top + this.rowHeight;
    if (top < this.root.scrollTop) this.root.scrollTop = top;
    else if (bottom > this.root.scrollTop + this.root.clientHeight) {
      this.root.scrollTop = bottom - this.root.clientHeight;
    }
  }

  pageSize() {
    return Math.max(1, Math.floor(this.root.clientHeight / this.rowHeight) - 1);
  }

  keydown(event) {
    if (!this.items.length) return;
    const moves = {
      ArrowDown: () => this.activeIndex + 1,
      ArrowUp: () => this.activeIndex - 1,
      PageDown: () => this.activeIndex + this.pageSize(),
      PageUp: () => this.activeIndex - this.pageSize(),
      Home: () => 0,
      End: () => this.items.length - 1,
    };
    if (moves[event.key]) {
      event.preventDefault();
      this.setActive(moves[event.key]());
      return;
    }
    if ((event.key === "Enter" || event.key === " ") && this.activeIndex >= 0) {
      event.preventDefault();
      this.onOpen(this.items[this.activeIndex], { keyboard: true });
    }
  }

  schedule() {
    if (this.frame) return;
    this.frame = requestAnimationFrame(() => {
      this.frame = 0;
      this.render();
    });
  }

  render() {
    const count = this.items.length;
    const height = this.root.clientHeight || 600;
    const first = Math.max(0, Math.floor(this.root.scrollTop / this.rowHeight) - OVERSCAN);
    const last = Math.min(
      count - 1,
      Math.ceil((this.root.scrollTop + height) / this.rowHeight) + OVERSCAN,
    );
    const indexes = [];
    for (let index = first; index <= last; index += 1) indexes.push(index);
    // The active row must exist for aria-activedescendant, even when scrolled away.
    if (this.activeIndex >= 0 && (this.activeIndex < first || this.activeIndex > last)) {
      indexes.push(this.activeIndex);
    }
    // Rows are kept while their item is the same object: a click, whose press and release must
    // land on one element, and a row's arrival highlight survive re-renders.
    const rendered = new Map();
    const rows = indexes.map((index) => {
      const item = this.items[index];
      const key = this.key(item);
      const cached = this.cache.get(key);
      const element = cached && cached.item === item ? cached.element : this.renderRow(item, index);
      this.decorate(element, key, index);
      rendered.set(key, { item, element });
      return element;
    });
    this.cache = rendered;
    const current = this.spacer.children;
    if (current.length !== rows.length || rows.some((row, i) => current[i] !== row)) {
      this.spacer.replaceChildren(...rows);
    }
    const active = this.activeIndex >= 0 ? this.keyAt(this.activeIndex) : null;
    if (active !== null) this.root.setAttribute("aria-activedescendant", rowId(active));
    else this.root.removeAttribute("aria-activedescendant");
    if (count && last >= count - 10) this.onNearEnd();
  }

  decorate(element, key, index) {
    element.id = rowId(key);
    element.dataset.index = String(index);
    element.setAttribute("role", "option");
    element.setAttribute("aria-selected", String(key === this.selectedKey));
    element.setAttribute("aria-posinset", String(index + 1));
    element.setAttribute("aria-setsize", String(this.total >= 0 ? this.total : -1));
    element.style.top = `${index * this.rowHeight}px`;
    element.classList.toggle("active", index === this.activeIndex);
    element.classList.toggle("arrived", this.arrived.has(key));
  }
}

export function rowId(key) {
  return `row-${key}`;
}
