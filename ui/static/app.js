// Run once when the page loads (ui/app.py hands this function to gradio's `js`).
// Citation links scroll the sources column to their card (opening an earlier turn's folded section) instead
// of navigating: the chat's markdown links would otherwise open a new tab. The card's top, with its heading,
// is brought to the top of the column, below a margin, whatever the card's height.
() => {
  const MARGIN = 16;
  const reveal = (card) => {
    const column = card.closest('#sources');
    if (column) {
      const top = column.scrollTop + card.getBoundingClientRect().top - column.getBoundingClientRect().top - MARGIN;
      column.scrollTo({top: Math.max(0, top), behavior: 'smooth'});
      if (column.getBoundingClientRect().top < 0) window.scrollBy({top: column.getBoundingClientRect().top - MARGIN});
    } else {
      card.scrollIntoView({behavior: 'smooth', block: 'start'});
    }
  };
  const flash = (element) => {
    element.classList.remove('flash');
    void element.offsetWidth;
    element.classList.add('flash');
  };
  document.addEventListener('click', (event) => {
    const link = event.target.closest && event.target.closest('a[href^="#src-"], a[href^="#near-"]');
    if (!link) return;
    const target = document.getElementById(link.getAttribute('href').split(' ')[0].slice(1));
    if (!target) return;
    const card = target.closest('.source-card') || target;
    const view = card.querySelector('details.page-view');
    if (view) view.open = true;
    event.preventDefault();
    event.stopPropagation();
    for (let d = card.closest('details'); d; d = d.parentElement && d.parentElement.closest('details')) d.open = true;
    reveal(card);
    flash(card);
    if (card !== target) flash(target);
  }, true);
  document.addEventListener('toggle', (event) => {
    const whole = event.target;
    if (!whole.matches || !whole.matches('details.whole-document') || !whole.open) return;
    const quote = whole.querySelector('.quote-anchor');
    const box = whole.querySelector('.document-text');
    if (quote && box) box.scrollTop = quote.offsetTop - box.offsetTop - 40;
  }, true);
}
