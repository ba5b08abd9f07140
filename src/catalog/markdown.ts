import MarkdownIt from 'markdown-it';

// Raw HTML in the source is shown as text (html: false), and markdown-it's link validation
// refuses javascript:, vbscript:, file: and data: URLs: product texts cannot inject script.
const markdown = new MarkdownIt({ html: false, linkify: true });

const defaultLinkOpen = markdown.renderer.rules.link_open ?? ((tokens, idx, options, _env, self) => self.renderToken(tokens, idx, options));
markdown.renderer.rules.link_open = (tokens, idx, options, env, self) => {
  // Links written by admins lead off the portal: no referrer, no opener, no ranking passed on.
  tokens[idx]!.attrSet('rel', 'nofollow noopener noreferrer');
  return defaultLinkOpen(tokens, idx, options, env, self);
};

/** Markdown of a product's overview or guide, as safe HTML. */
export function renderMarkdown(source: string): string {
  return markdown.render(source);
}
