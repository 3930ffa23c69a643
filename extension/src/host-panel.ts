/**
 * A panel that the viewer renders with its own React while we render its content with Preact into
 * a node of our own, so nothing of the host's React (its module, its version, its bundler) is ever
 * needed. OHIF 3.12 and 3.13 lend a run-time extension no React at all, and a second copy would
 * break hooks; what every React version from 16 to 19 does keep is the class-component contract:
 * a class marked by `prototype.isReactComponent`, constructed with its props, whose `render()` may
 * return a string and whose `componentDidMount` / `componentWillUnmount` run once in the page.
 *
 * The component renders one text node holding a unique marker; once mounted, it finds that node
 * in the document (plain DOM), empties it and puts our container right after it, inside the
 * viewer's own panel element; on unmount our content goes first, then React removes its node.
 */
import { type ComponentChild, render } from 'preact';

let mounted = 0;

function findText(marker: string): Text | null {
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let n = walker.nextNode(); n; n = walker.nextNode()) if ((n as Text).data === marker) return n as Text;
  return null;
}

/** A React component type (for any React) that shows `content()`, rendered by Preact. */
export function hostPanel(name: string, content: () => ComponentChild): abstract new (props: object) => object {
  class GlmedsaHostPanel {
    /** Invisible separator + a name only this mount has. */
    private readonly marker = `\u2063glmedsa-${name}-${++mounted}`;
    private container: HTMLElement | null = null;

    constructor(readonly props: object) {}

    render(): string {
      return this.marker;
    }

    componentDidMount(): void {
      const anchor = findText(this.marker);
      if (!anchor) {
        console.error(`GLMed-SA: the ${name} panel could not find its place in the page`);
        return;
      }
      anchor.data = '';
      const div = document.createElement('div');
      div.dataset['glmedsaHost'] = name;
      anchor.after(div);
      render(content(), div);
      this.container = div;
    }

    componentWillUnmount(): void {
      if (!this.container) return;
      render(null, this.container);
      this.container.remove();
      this.container = null;
    }
  }
  (GlmedsaHostPanel.prototype as unknown as { isReactComponent: object }).isReactComponent = {};
  return GlmedsaHostPanel;
}
