"""Build the docs site offline, without Quarto: `python tools/build_docs.py` writes `_docs/`.

Two steps. (1) nbdev's own docs processors (what `nbdev-proc-nbs` runs: frontmatter, `show_doc` for every exported
symbol, doclinks, hidden cells removed) turn each notebook in `nbs/` into a processed notebook in `_docs/_proc/`.
(2) A small renderer turns each processed notebook into an HTML page, with the sidebar of `nbs/sidebar.yml`, the navbar
and site title of `nbs/_quarto.yml`/`nbs/nbdev.yml`, markdown by markdown-it-py, code by pygments, and math left as
TeX for MathJax (loaded from a CDN when online; without it the TeX source stays readable).
Links to notebooks (`01_math.ipynb`) and nbdev doclinks to the hosted site become links between the local pages."""
import argparse, ast, base64, contextlib, html, multiprocessing, os, re, shutil, subprocess, sys, tempfile, threading, time
from concurrent.futures import ProcessPoolExecutor
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit

import yaml
from bs4 import BeautifulSoup
from fastcore.basics import AttrDict
from fastcore.nbio import mk_cell, read_nb, write_nb
from jinja2 import Environment, FileSystemLoader
from markdown_it import MarkdownIt
from mdit_py_plugins.anchors import anchors_plugin
from mdit_py_plugins.dollarmath import dollarmath_plugin
from pygments import highlight
from pygments.formatters import HtmlFormatter
from pygments.lexers import TextLexer, get_lexer_by_name
from pygments.util import ClassNotFound

ROOT = Path(__file__).resolve().parent.parent
NBS, THEME = ROOT/'nbs', Path(__file__).resolve().parent/'docs_theme'
MATHJAX = 'https://cdn.jsdelivr.net/npm/mathjax@3/es5/tex-chtml.js'

def source_notebooks(nbs=NBS):
    "The notebooks that become pages: nbdev skips names starting with `_` or `.`."
    return sorted(p for p in nbs.glob('*.ipynb') if not p.name.startswith(('_', '.')))

# ---------------------------------------------------------------- step 1: nbdev's processors

_IMPORTS = (ast.Import, ast.ImportFrom)
_re_keep = re.compile(r'^(#\|\s*(export|exports|exporti|exec_doc|eval)\b|show_doc)', re.M)

def _guard_mixed_imports(nb):
    """While processing, nbdev executes every cell that contains an import, so a test cell that starts with
    `import tempfile` runs without the test cells before it and fails (nbdev's FAQ: keep imports in their own cell).
    Rather than fail, run only such a cell's top-level imports (in a hidden cell, dropped from the page)."""
    cells = []
    for cell in nb.cells:
        src = cell.source if cell.cell_type == 'code' else ''
        try: tree = ast.parse(src) if src and not _re_keep.search(src) else None
        except SyntaxError: tree = None  # magics: nbdev does not evaluate those either
        if tree and any(isinstance(n, _IMPORTS) for n in ast.walk(tree)) and not all(isinstance(n, _IMPORTS) for n in tree.body):
            imports = [ast.get_source_segment(src, n) for n in tree.body if isinstance(n, _IMPORTS)]
            if imports: cells.append(mk_cell('#| hide\n' + '\n'.join(imports), 'code', metadata=AttrDict()))
            cell.source = '#| eval: false\n' + src
        cells.append(cell)
    nb.cells = cells

def process_nb(src:Path, dest:Path):
    "Run nbdev's docs processors (those of `nbdev-proc-nbs`) on notebook `src`, writing `dest`."
    from nbdev.processors import FilterDefaults  # imported here: it is slow, and only the workers need it
    os.environ['IN_TEST'] = '1'  # what nbdev sets while processing: notebooks skip slow work under it
    nb = read_nb(src)
    _guard_mixed_imports(nb)
    FilterDefaults()(nb)
    write_nb(nb, dest)
    return dest

def process_all(proc_dir:Path, workers=2):
    "Process every notebook into `proc_dir`, `workers` at a time."
    proc_dir.mkdir(parents=True, exist_ok=True)
    nbs = source_notebooks()
    # spawned workers, as `nbdev-proc-nbs` uses (forked ones crash in torch); they run from nbs/, like the notebooks
    with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context('spawn'), initializer=os.chdir, initargs=(NBS,)) as ex:
        return list(ex.map(process_nb, nbs, [proc_dir/p.name for p in nbs]))

# ---------------------------------------------------------------- step 2: the renderer

def _slug(s):
    "Heading ids as Quarto/nbdev make them, so doclinks like `core.html#set_seed` land on the `show_doc` heading."
    return re.sub(r'[^\w.\-]', '', re.sub(r'\s+', '-', s.strip().lower()))

def _highlight(code, lang, attrs=''):
    try: lexer = get_lexer_by_name(lang or 'text')
    except ClassNotFound: lexer = TextLexer()
    return f'<pre class="highlight"><code class="language-{html.escape(lang or "text")}">{highlight(code, lexer, HtmlFormatter(nowrap=True))}</code></pre>'

def _math(content, info):
    "Keep the TeX (escaped) between MathJax's delimiters: typeset online, still readable offline."
    tex = html.escape(content)
    return f'<div class="math display">\\[{tex}\\]</div>' if info.get('display_mode') else f'<span class="math inline">\\({tex}\\)</span>'

def markdown_renderer():
    md = MarkdownIt('commonmark', {'html': True, 'highlight': _highlight}).enable(['table', 'strikethrough'])
    return md.use(dollarmath_plugin, renderer=_math, double_inline=True).use(anchors_plugin, min_level=1, max_level=4, slug_func=_slug)

MD = markdown_renderer()

def frontmatter(nb):
    "The YAML frontmatter nbdev's processors put in a raw cell (title, description, output-file)."
    raw = next((c.source for c in nb.cells if c.cell_type == 'raw' and c.source.lstrip().startswith('---')), '')
    return yaml.safe_load(raw.strip().strip('-')) or {} if raw else {}

def _text(v): return ''.join(v) if isinstance(v, list) else v

class PageRenderer:
    "Renders the cells of one processed notebook; figures go to `<out>/<page stem>_files/`."
    def __init__(self, out:Path, page:str): self.out, self.page, self.nfig = out, page, 0

    def figure(self, data, ext):
        d = self.out/f'{Path(self.page).stem}_files'
        d.mkdir(exist_ok=True)
        self.nfig += 1
        f = d/f'figure-{self.nfig}.{ext}'
        if ext == 'svg': f.write_text(_text(data))
        else: f.write_bytes(base64.b64decode(_text(data)))
        return f'<img src="{d.name}/{f.name}" alt="figure {self.nfig}" class="figure">'

    def output(self, o):
        kind = o.get('output_type')
        if kind == 'stream': return f'<pre class="output {o.get("name", "")}">{html.escape(_text(o.text))}</pre>'
        if kind == 'error': return f'<pre class="output error">{html.escape(o.ename)}: {html.escape(o.evalue)}</pre>'
        data = o.get('data', {})
        for mime, ext in (('image/png', 'png'), ('image/jpeg', 'jpg'), ('image/svg+xml', 'svg')):
            if mime in data: return self.figure(data[mime], ext)
        if 'text/html' in data: return f'<div class="output html">{_text(data["text/html"])}</div>'
        if 'text/markdown' in data: return f'<div class="output markdown">{MD.render(_text(data["text/markdown"]))}</div>'
        if 'text/plain' in data: return f'<pre class="output">{html.escape(_text(data["text/plain"]))}</pre>'
        return ''

    def cell(self, cell):
        if cell.cell_type == 'markdown': return MD.render(cell.source)
        if cell.cell_type != 'code': return ''
        d = cell.directives  # the Quarto options nbdev's processors leave on each cell: echo, output, include, code-fold
        if d.get('include') == 'false': return ''
        cell.remove_directives()
        parts = []
        if cell.source.strip() and d.get('echo') != 'false':
            code = _highlight(cell.source.strip(), 'python')
            parts.append(f'<details class="code-fold"><summary>{html.escape(d.get("code-summary", "Code").strip(chr(34)))}</summary>{code}</details>'
                         if 'code-fold' in d else code)
        if d.get('output') != 'false': parts += [self.output(o) for o in cell.get('outputs', [])]
        body = ''.join(p for p in parts if p)
        return f'<div class="cell">{body}</div>' if body else ''

    def render(self, nb): return '\n'.join(filter(None, map(self.cell, (c for c in nb.cells if c.cell_type != 'raw'))))

# ---------------------------------------------------------------- the site: navigation and links

def local_href(href, site_url, pages):
    """Map a link to a notebook (`01_math.ipynb#x`) or to the hosted docs (an nbdev doclink,
    `https://ft-nb.github.io/ft-nb/core.html#set_seed`) onto the local page; other links are left alone."""
    if href.startswith(site_url): href = href[len(site_url):] or 'index.html'
    path, _, frag = href.partition('#')
    if not urlsplit(path).scheme and Path(path).name in pages: path = pages[Path(path).name]
    return path + ('#' + frag if frag else '')

class Site:
    def __init__(self, proc_dir:Path, out:Path):
        self.out = out
        quarto = yaml.safe_load((NBS/'_quarto.yml').read_text())
        nbdev_yml = yaml.safe_load((NBS/'nbdev.yml').read_text())
        self.website = {**quarto.get('website', {}), **nbdev_yml.get('website', {})}
        self.site_url = self.website.get('site-url', '').rstrip('/') + '/'
        self.sidebar = yaml.safe_load((NBS/'sidebar.yml').read_text())['website']['sidebar']['contents']
        self.nbs = {p.name: read_nb(p) for p in sorted(proc_dir.glob('*.ipynb'))}
        self.fm = {name: frontmatter(nb) for name, nb in self.nbs.items()}
        self.pages = {name: fm.get('output-file') or Path(name).with_suffix('.html').name for name, fm in self.fm.items()}
        self.env = Environment(loader=FileSystemLoader(THEME), autoescape=True)

    def title(self, name): return self.fm.get(name, {}).get('title') or Path(name).stem

    def nav_item(self, entry):
        "A sidebar entry of `sidebar.yml`: a notebook name, or a `section` with its own `contents`."
        if isinstance(entry, str): return {'title': self.title(entry), 'href': self.pages.get(entry, entry), 'name': entry}
        return {'section': entry.get('section', ''), 'contents': [self.nav_item(e) for e in entry.get('contents', [])]}

    def reading_order(self, items):
        for i in items: yield from self.reading_order(i['contents']) if 'contents' in i else [i]

    def localise(self, href): return local_href(href, self.site_url, self.pages)

    def fix_links(self, body):
        soup = BeautifulSoup(body, 'html.parser')
        for a in soup.find_all('a', href=True): a['href'] = self.localise(a['href'])
        toc = [{'id': h['id'], 'text': h.get_text()} for h in soup.find_all('h2', id=True)]
        return str(soup), toc

    def build(self):
        nav = [self.nav_item(e) for e in self.sidebar]
        order = list(self.reading_order(nav))
        navbar = [{'text': i['text'], 'href': self.localise(i['href'])} for i in self.website.get('navbar', {}).get('left', [])]
        tpl = self.env.get_template('page.html')
        for name, nb in self.nbs.items():
            page, fm = self.pages[name], self.fm[name]
            body, toc = self.fix_links(PageRenderer(self.out, page).render(nb))
            pos = next((i for i, o in enumerate(order) if o['name'] == name), None)
            prev, nxt = (order[pos-1] if pos else None, order[pos+1] if pos is not None and pos+1 < len(order) else None)
            (self.out/page).write_text(tpl.render(site=self.website, title=self.title(name), description=fm.get('description', ''),
                                                   body=body, toc=toc, nav=nav, navbar=navbar, page=page, prev=prev, next=nxt,
                                                   mathjax=MATHJAX, source=name))
        shutil.copy(THEME/'site.css', self.out/'site.css')
        (self.out/'pygments.css').write_text(HtmlFormatter(style='friendly').get_style_defs('.highlight'))

def build(out=ROOT/'_docs', workers=2):
    "Build the site into `out`: processed notebooks in `out/_proc`, pages and figures in `out`."
    out = Path(out)
    if out.exists(): shutil.rmtree(out)
    proc = out/'_proc'
    process_all(proc, workers)
    Site(proc, out).build()
    return out

# ---------------------------------------------------------------- looking at it in a browser (used by tests/test_docs.py)

def chromium_path(): return shutil.which('chromium') or shutil.which('chromium-browser') or shutil.which('google-chrome')

CHROMIUM_FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update',
                  '--no-first-run', '--hide-scrollbars',
                  # offline by construction: any host but the local server fails at once, instead of waiting on DNS
                  '--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1']

def chromium(*args, timeout=60):
    "Run headless Chromium with `args`; returns stdout (the DOM for `--dump-dom`)."
    with tempfile.TemporaryDirectory() as profile:  # a fresh profile: no state shared between runs
        r = subprocess.run([chromium_path(), *CHROMIUM_FLAGS, f'--user-data-dir={profile}', *args],
                           capture_output=True, text=True, timeout=timeout)
    return r.stdout

@contextlib.contextmanager
def serve(directory):
    "Serve `directory` on 127.0.0.1 at a free port, in a thread; yields the base URL."
    class Quiet(SimpleHTTPRequestHandler):
        def log_message(self, *args): pass
    srv = ThreadingHTTPServer(('127.0.0.1', 0), partial(Quiet, directory=str(directory)))
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    try: yield f'http://127.0.0.1:{srv.server_address[1]}/'
    finally: srv.shutdown(); srv.server_close()

def screenshot(url, path, size='1280,2000'):
    chromium(f'--screenshot={path}', f'--window-size={size}', '--virtual-time-budget=3000', url)
    return Path(path)

def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--out', default=str(ROOT/'_docs'), help='output folder (default: _docs)')
    p.add_argument('--workers', type=int, default=2, help='processes for the notebook processing step')
    p.add_argument('--screenshots', action='store_true', help='also save screenshots of the landing page and the math chapter to OUT/screenshots')
    a = p.parse_args()
    t = time.perf_counter()
    out = build(a.out, a.workers)
    print(f'docs: {len(list(out.glob("*.html")))} pages in {out} ({time.perf_counter() - t:.0f}s)')
    if a.screenshots:
        if not chromium_path(): sys.exit('docs: --screenshots needs chromium (apt-get install chromium)')
        (out/'screenshots').mkdir(exist_ok=True)
        with serve(out) as url:
            for page in ('index.html', 'math.html'): print('screenshot:', screenshot(url + page, out/'screenshots'/page.replace('.html', '.png')))

if __name__ == '__main__':
    # run as the module `build_docs`, so that the spawned workers of `process_all` can import `process_nb` by name
    sys.path.insert(0, str(Path(__file__).parent))
    import build_docs
    build_docs.main()
