"""The page's look: Gradio theme, CSS and the small script for citation links.

Kept in Python (not a .css file) so it ships inside the package with no
package-data configuration.
"""

import gradio as gr

CSS = """
/* The chat page. Colours follow the Gradio theme variables so dark mode works. */
.gradio-container { max-width: 1320px !important; margin: 0 auto !important; }

.app-header { padding: 6px 2px 2px; }
.app-header h1 { font-size: 1.45rem; font-weight: 650; margin: 0 0 2px; letter-spacing: -0.01em; }
.app-header p { margin: 0; color: var(--body-text-color-subdued); font-size: 0.92rem; }

.placeholder { text-align: center; color: var(--body-text-color-subdued); line-height: 1.7; }

#status .status { font-size: 0.85rem; color: var(--body-text-color-subdued); padding: 2px 4px; min-height: 1.2em; }
.error { color: #b42318; background: #fef3f2; border: 1px solid #fecdca; border-radius: 8px;
         padding: 8px 12px; font-size: 0.9rem; }

/* Chat messages */
.understood { font-size: 0.82rem; color: var(--body-text-color-subdued); margin-bottom: 6px; }
.notice { font-size: 0.82rem; color: #b54708; margin-bottom: 6px; }
.answer { line-height: 1.6; }
.answer.streaming { color: var(--body-text-color); }
.cursor { opacity: 0.6; animation: blink 1s steps(1) infinite; }
@keyframes blink { 50% { opacity: 0; } }
.pending { color: var(--body-text-color-subdued); font-style: italic; }
.meta { margin-top: 8px; font-size: 0.74rem; color: var(--body-text-color-subdued); opacity: 0.85; }
.hint { font-size: 0.8rem; color: var(--body-text-color-subdued); }
.abstained { font-style: italic; }

a.cite { text-decoration: none !important; font-weight: 600; font-size: 0.8em; vertical-align: super;
         line-height: 0; padding: 0 1px; color: var(--color-accent) !important; }
a.cite:hover { text-decoration: underline !important; }
a.cite.unverified { color: #b54708 !important; }
.unsupported { text-decoration: underline wavy #d92d20; text-decoration-thickness: 1px;
               text-underline-offset: 3px; background: rgba(217, 45, 32, 0.06); }

#ask-row { align-items: stretch; }
#model-status .status { font-size: 0.8rem; }
#model-status .status.ready { color: #067647; }
#download-row { gap: 8px; }
#controls { margin-top: 4px; }

/* Documents tab */
#docs-status .status { font-size: 0.9rem; padding: 4px 2px; }
#docs-status .error { margin: 4px 0; }
.doc-table-wrap { max-height: 460px; overflow-y: auto; border: 1px solid var(--border-color-primary);
                  border-radius: 10px; background: var(--block-background-fill); }
table.doc-table { width: 100%; border-collapse: collapse; font-size: 0.87rem; border: none !important; margin: 0; }
.doc-table th { position: sticky; top: 0; background: var(--background-fill-secondary); text-align: left;
                font-weight: 600; padding: 8px 12px; border-bottom: 1px solid var(--border-color-primary); }
.doc-table td { padding: 7px 12px; vertical-align: top; }
.doc-table th, .doc-table td { border: none !important; border-bottom: 1px solid var(--border-color-primary) !important; }
.doc-table tr:last-child td { border-bottom: none; }
.doc-table .num { text-align: right; font-variant-numeric: tabular-nums; }
.doc-table td.doc-title { width: 55%; color: var(--body-text-color); }
.doc-table code { font-size: 0.78rem; background: var(--background-fill-secondary); padding: 1px 5px; border-radius: 4px; }

/* Sources panel */
.panel-title { margin: 4px 0 0; font-size: 1rem; font-weight: 600; }
.sources-panel { max-height: 640px; overflow-y: auto; padding-right: 4px; }
.sources-panel .empty { color: var(--body-text-color-subdued); font-size: 0.9rem; line-height: 1.6;
                        border: 1px dashed var(--border-color-primary); border-radius: 10px; padding: 14px; }
details.turn { border: 1px solid var(--border-color-primary); border-radius: 10px; margin-bottom: 10px;
               background: var(--block-background-fill); }
details.turn > summary { cursor: pointer; padding: 9px 12px; font-weight: 600; font-size: 0.9rem;
                         color: var(--body-text-color); }
details.turn[open] > summary { border-bottom: 1px solid var(--border-color-primary); }
ol.sources { list-style: none; margin: 0; padding: 6px 10px 10px; }
li.source { margin: 8px 0 12px; padding: 8px 10px; border-radius: 8px; scroll-margin: 80px; }
li.source.flash { animation: flash 2.5s ease-out; }
@keyframes flash { from { background: var(--color-accent-soft); } to { background: transparent; } }
li.source.unverified { border-left: 3px solid #f79009; }
.src-head { display: flex; flex-wrap: wrap; align-items: baseline; gap: 4px 8px; font-size: 0.85rem; margin-bottom: 6px; }
.src-num { font-weight: 700; color: var(--color-accent); }
.src-title { font-weight: 600; color: var(--body-text-color); }
.src-meta { color: var(--body-text-color-subdued); font-size: 0.78rem; }
.src-meta code { font-size: 0.75rem; background: var(--background-fill-secondary); padding: 1px 5px; border-radius: 4px; }
.badge { font-size: 0.7rem; padding: 1px 7px; border-radius: 999px; background: var(--background-fill-secondary);
         color: var(--body-text-color-subdued); }
.badge.warn { background: #fffaeb; color: #b54708; border: 1px solid #fedf89; }
blockquote.passage { margin: 0; padding: 6px 10px; border-left: 3px solid var(--border-color-primary);
                     font-size: 0.86rem; line-height: 1.55; color: var(--body-text-color-subdued);
                     white-space: pre-wrap; max-height: 260px; overflow-y: auto; position: relative; }
blockquote.passage mark { background: #fde68a; color: #1f2937; padding: 1px 2px; border-radius: 3px; }
.closest-title { font-size: 0.85rem; color: var(--body-text-color-subdued); margin: 8px 12px 0; }
details.rag-evidence { margin: 0 12px 10px; font-size: 0.8rem; color: var(--body-text-color-subdued); }
details.rag-evidence > summary { cursor: pointer; }
details.rag-evidence ol { margin: 4px 0; padding-left: 1.2em; }
details.rag-evidence blockquote { margin: 2px 0 6px; padding: 2px 8px; border-left: 2px solid var(--border-color-primary); }
"""

# Marker links: open the folded answer they point into, then scroll to the entry.
HEAD = """
<script>
document.addEventListener("click", (event) => {
  const link = event.target.closest && event.target.closest("a.cite");
  if (!link) return;
  const target = document.getElementById(link.getAttribute("href").slice(1));
  if (!target) return;
  event.preventDefault();
  const details = target.closest("details");
  if (details) details.open = true;
  target.scrollIntoView({behavior: "smooth", block: "center"});
  target.classList.remove("flash"); void target.offsetWidth; target.classList.add("flash");
});

// A long passage can hide its highlighted quote below the fold: scroll each passage
// (once, when it is shown) so that the quote is in view.
function showQuotes() {
  document.querySelectorAll("#sources blockquote.passage").forEach((bq) => {
    const mark = bq.querySelector("mark");
    if (!mark || bq.dataset.shown || bq.clientHeight === 0) return;
    bq.dataset.shown = "1";
    bq.scrollTop = Math.max(0, mark.offsetTop - 24);
  });
}
let quotePending = false;
new MutationObserver(() => {
  if (quotePending) return;
  quotePending = true;
  requestAnimationFrame(() => { quotePending = false; showQuotes(); });
}).observe(document.documentElement, {childList: true, subtree: true});
document.addEventListener("toggle", showQuotes, true);  // an older answer's sources unfolded
</script>
"""


def theme() -> gr.themes.Base:
    """Soft theme with system fonts only: the page is used offline, no font CDN."""
    return gr.themes.Soft(
        primary_hue="indigo", neutral_hue="slate",
        font=["Inter", "ui-sans-serif", "system-ui", "Segoe UI", "Roboto", "sans-serif"],
        font_mono=["ui-monospace", "SFMono-Regular", "Menlo", "monospace"],
    )
