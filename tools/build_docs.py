"""Build the docs site offline, without Quarto: `python tools/build_docs.py` writes `_docs/`.

Two steps. (1) nbdev's own docs processors (what `nbdev-proc-nbs` runs: frontmatter, `show_doc` for every exported
symbol, doclinks, hidden cells removed) turn each notebook in `nbs/` into a processed notebook in `_docs/_proc/`.
(2) A small renderer turns each processed notebook into an HTML page, with the sidebar of `nbs/sidebar.yml`, the navbar
and site title of `nbs/_quarto.yml`/`nbs/nbdev.yml`, markdown by markdown-it-py, code by pygments, and math turned into
MathML at build time by latex2mathml (browsers typeset MathML natively: no script, no network).
What a reader should not meet is left out: import cells before a chapter's title, headings with nothing under them,
the redrawn frames of progress bars (only the last is kept), and the text repr of ipywidgets (the saved widget state is
drawn as a static panel instead; see `tools/widget_state.py`).
Tutorials (`nbs/tutorials/*.ipynb`) become pages under `tutorials/`; links to notebooks (`01_math.ipynb`,
`../09_train.ipynb`) and nbdev doclinks to the hosted site become links between the local pages."""
import argparse, ast, base64, contextlib, html, math, multiprocessing, os, posixpath, re, shutil, subprocess, sys, tempfile, threading, time
from concurrent.futures import ProcessPoolExecutor
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit

import yaml
from bs4 import BeautifulSoup
from bs4.element import NavigableString, Tag
from fastcore.basics import AttrDict
from fastcore.nbio import mk_cell, read_nb, write_nb
from jinja2 import Environment, FileSystemLoader
from latex2mathml.converter import convert as latex_to_mathml
from markdown_it import MarkdownIt
from mdit_py_plugins.anchors import anchors_plugin
from mdit_py_plugins.dollarmath import dollarmath_plugin
from pygments import highlight
from pygments.formatters import HtmlFormatter
from pygments.lexers import TextLexer, get_lexer_by_name
from pygments.util import ClassNotFound

sys.path.insert(0, str(Path(__file__).resolve().parent))
from make_readme import last_frames  # one rule for progress bars, in the README and on the site

ROOT = Path(__file__).resolve().parent.parent
NBS, THEME = ROOT/'nbs', Path(__file__).resolve().parent/'docs_theme'
TUTORIALS = 'tutorials'  # the folder of nbs/ whose notebooks are the tutorials

def source_notebooks(nbs=NBS):
    "The notebooks that become pages, chapters then tutorials: nbdev skips names starting with `_` or `.`."
    pick = lambda d: sorted(p for p in d.glob('*.ipynb') if not p.name.startswith(('_', '.')))
    return pick(nbs) + pick(nbs/TUTORIALS)

def nb_key(p:Path, nbs=NBS)->str: return Path(p).resolve().relative_to(Path(nbs).resolve()).as_posix()

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
    os.chdir(Path(src).parent)   # cells run where the notebook lives, as in Jupyter and nbdev-test
    nb = read_nb(src)
    _guard_mixed_imports(nb)
    FilterDefaults()(nb)
    write_nb(nb, dest)
    return dest

def process_all(proc_dir:Path, workers=2):
    "Process every notebook into `proc_dir`, `workers` at a time."
    nbs = source_notebooks()
    dests = [proc_dir/nb_key(p) for p in nbs]
    for d in dests: d.parent.mkdir(parents=True, exist_ok=True)
    # spawned workers, as `nbdev-proc-nbs` uses (forked ones crash in torch)
    with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context('spawn')) as ex:
        return list(ex.map(process_nb, nbs, dests))

# ---------------------------------------------------------------- step 2: the renderer

def _slug(s):
    "Heading ids as Quarto/nbdev make them, so doclinks like `core.html#set_seed` land on the `show_doc` heading."
    return re.sub(r'[^\w.\-]', '', re.sub(r'\s+', '-', s.strip().lower()))

def _highlight(code, lang, attrs=''):
    try: lexer = get_lexer_by_name(lang or 'text')
    except ClassNotFound: lexer = TextLexer()
    return f'<pre class="highlight"><code class="language-{html.escape(lang or "text")}">{highlight(code, lexer, HtmlFormatter(nowrap=True))}</code></pre>'

# TeX that latex2mathml does not know, rewritten into TeX it does (anything else left unknown shows as a backslash, which
# tests/test_docs.py finds in the page)
_TEX_FIXES = [(re.compile(r'\\arg\s*\\max'), r'\\operatorname{argmax}'), (re.compile(r'\\arg\s*\\min'), r'\\operatorname{argmin}'),
              (re.compile(r'\\(big|Big|bigg|Bigg)\\\|'), r'\\\1\\Vert'), (re.compile(r'\\\|'), r'\\Vert')]
# and MathML symbols it leaves as TeX commands
_MATHML_FIXES = {r'>\Vert<': '>‖<', r'>\arg<': '>arg<', '>argmax<': '>arg max<', '>argmin<': '>arg min<'}

def tex_to_mathml(tex:str, display=False)->str:
    "MathML for `tex`, which browsers typeset without any script; TeX it cannot read stays visible, in a `<code>`."
    for pat, rep in _TEX_FIXES: tex = pat.sub(rep, tex)
    try: m = latex_to_mathml(tex, display='block' if display else 'inline')
    except Exception: return f'<code class="tex-error">{html.escape(tex)}</code>'
    for a, b in _MATHML_FIXES.items(): m = m.replace(a, b)
    return m.replace('<math ', f'<math alttext="{html.escape(tex.strip())}" ', 1)

def _math(content, info):
    display = bool(info.get('display_mode'))
    m = tex_to_mathml(content, display)
    return f'<div class="math display">{m}</div>' if display else f'<span class="math inline">{m}</span>'

def markdown_renderer():
    md = MarkdownIt('commonmark', {'html': True, 'highlight': _highlight}).enable(['table', 'strikethrough'])
    return md.use(dollarmath_plugin, renderer=_math, double_inline=True).use(anchors_plugin, min_level=1, max_level=4, slug_func=_slug)

MD = markdown_renderer()

def frontmatter(nb):
    "The YAML frontmatter nbdev's processors put in a raw cell (title, description, output-file)."
    raw = next((c.source for c in nb.cells if c.cell_type == 'raw' and c.source.lstrip().startswith('---')), '')
    return yaml.safe_load(raw.strip().strip('-')) or {} if raw else {}

def _text(v): return ''.join(v) if isinstance(v, list) else v

def _all_imports(src:str)->bool:
    "Whether `src` is only import statements (a notebook's setup cell)."
    try: tree = ast.parse(src)
    except SyntaxError: return False
    return bool(tree.body) and all(isinstance(n, _IMPORTS) for n in tree.body)

TEST_MODULES = ('fastcore.test', 'unittest', 'pytest', 'hypothesis', 'ft_nb.testing')

def _test_imports(src:str)->bool:
    "Whether `src` only imports test helpers: they serve the notebook's own tests, not the reader."
    if not _all_imports(src): return False
    nodes = ast.parse(src).body
    mods = [a.name for n in nodes if isinstance(n, ast.Import) for a in n.names] + [n.module or '' for n in nodes if isinstance(n, ast.ImportFrom)]
    return all(any(m == t or m.startswith(t + '.') for t in TEST_MODULES) for m in mods)

# ---------------------------------------------------------------- widgets: a static view of the saved state

from widget_state import WIDGET_VIEW, WIDGET_STATE  # the mime type of a widget output, the metadata key of the saved state

def widget_models(nb)->dict:
    "The saved widget models of `nb` (`metadata.widgets`, as Jupyter and `tools/widget_state.py` save them), by model id."
    state = (nb.metadata.get('widgets') or {}).get(WIDGET_STATE, {}).get('state', {})
    models = {}
    for mid, m in state.items():
        st = dict(m.get('state', {}))
        for b in m.get('buffers', []):  # binary values (an Image's PNG), base64 in the notebook
            if len(b.get('path', [])) == 1: st[b['path'][0]] = base64.b64decode(b['data'])
        models[mid] = {'name': m.get('model_name', ''), 'state': st}
    return models

class WidgetView:
    "Static HTML for a saved widget tree: its controls drawn as they were, disabled; its images and outputs shown."
    def __init__(self, models, page): self.models, self.page = models, page

    def ref(self, v): return self.models.get(v[len('IPY_MODEL_'):]) if isinstance(v, str) and v.startswith('IPY_MODEL_') else None

    def __call__(self, mid:str)->str:
        m = self.models.get(mid)
        return '' if m is None else self.render(m)

    def render(self, m)->str:
        name, st = m['name'].removesuffix('Model'), m['state']
        esc, desc = html.escape, html.escape(str(st.get('description', '')))
        label = f'<span class="widget-label">{desc}</span>' if desc else ''
        if name in ('VBox', 'HBox', 'Box', 'GridBox', 'Accordion', 'Tab', 'Stack'):
            kids = ''.join(self.render(k) for k in map(self.ref, st.get('children', [])) if k)
            return f'<div class="widget-box widget-{name.lower()}">{kids}</div>'
        if name in ('Button', 'ToggleButton'):
            style = esc(st.get('button_style', '') or '')
            pressed = ' aria-pressed="true"' if st.get('value') else ''
            return f'<button class="widget-button {style}" disabled{pressed}>{desc or esc(st.get("icon", ""))}</button>'
        if name == 'Checkbox':
            return f'<label class="widget-checkbox"><input type="checkbox" disabled{" checked" if st.get("value") else ""}> {desc}</label>'
        if name.endswith('Slider') and 'Range' not in name:
            v, lo, hi, step = (st.get(k) for k in ('value', 'min', 'max', 'step'))
            if name == 'FloatLogSlider':  # min/max are exponents of `base`; the range input moves in exponent space
                base = st.get('base', 10)
                shown, v = v, math.log(v, base) if v and v > 0 else lo
            else: shown = v
            fmt = st.get('readout_format') or ('d' if name.startswith('Int') else '.2f')
            try: readout = format(shown, fmt)
            except (TypeError, ValueError): readout = str(shown)
            return (f'<label class="widget-slider">{label}<input type="range" disabled min="{lo}" max="{hi}" step="{step or "any"}" '
                    f'value="{v}"><output>{esc(readout)}</output></label>')
        if name.endswith(('Text', 'Textarea', 'Password')) or name in ('Combobox',):
            return f'<label class="widget-text">{label}<input disabled value="{esc(str(st.get("value", "")))}"></label>'
        if name in ('Dropdown', 'Select', 'RadioButtons', 'ToggleButtons'):
            opts, i = st.get('_options_labels', []), st.get('index')
            return f'<label class="widget-text">{label}<select disabled><option>{esc(opts[i]) if isinstance(i, int) and i < len(opts) else ""}</option></select></label>'
        if name in ('IntProgress', 'FloatProgress'):
            return f'<label class="widget-progress">{label}<progress value="{st.get("value", 0)}" max="{st.get("max", 100)}"></progress></label>'
        if name == 'Label': return f'<span class="widget-html">{esc(str(st.get("value", "")))}</span>'
        if name in ('HTML', 'HTMLMath'): return f'<div class="widget-html">{label}{st.get("value", "")}</div>'
        if name == 'Image':
            data = st.get('value') or b''
            return self.page.figure(base64.b64encode(data).decode(), st.get('format', 'png')) if data else ''
        if name == 'Output': return ''.join(self.page.output(AttrDict(o)) for o in st.get('outputs', []))
        return f'<span class="widget-other">{desc or esc(name)}</span>'

# ---------------------------------------------------------------- cells and pages

class PageRenderer:
    "Renders the cells of one processed notebook; figures go to `<out>/<page stem>_files/` beside the page."
    def __init__(self, out:Path, page:str, nb=None):
        self.out, self.page, self.nfig, self.warnings = out, page, 0, []
        self.widgets = WidgetView(widget_models(nb) if nb is not None else {}, self)

    def figure(self, data, ext):
        d = (self.out/self.page).parent/f'{Path(self.page).stem}_files'
        d.mkdir(parents=True, exist_ok=True)
        self.nfig += 1
        f = d/f'figure-{self.nfig}.{ext}'
        if ext == 'svg': f.write_text(_text(data))
        else: f.write_bytes(base64.b64decode(_text(data)))
        return f'<img src="{d.name}/{f.name}" alt="figure {self.nfig}" class="figure">'

    def widget(self, view, others_shown:bool):
        "A widget output: the panel drawn from the saved state; without state, nothing if the cell shows an image, else a note."
        body = self.widgets(view.get('model_id', ''))
        if body: return f'<div class="widget-panel">{body}<p class="widget-note">The saved state of an interactive panel: its controls work when the notebook runs in Jupyter.</p></div>'
        if others_shown: return ''
        self.warnings.append(f'a widget output without saved widget state ({view.get("model_id", "?")})')
        return ('<div class="widget-missing">An interactive panel is shown here when the notebook runs in Jupyter (this page was built '
                'from a notebook saved without its widget state: run it with <code>tools/run_nb.py</code>).</div>')

    def output(self, o, others_shown=False):
        kind = o.get('output_type')
        if kind == 'stream': return f'<pre class="output {o.get("name", "")}">{html.escape(last_frames(_text(o.text)))}</pre>' if _text(o.text).strip() else ''
        if kind == 'error': return f'<pre class="output error">{html.escape(o.ename)}: {html.escape(o.evalue)}</pre>'
        data = o.get('data', {})
        if WIDGET_VIEW in data: return self.widget(data[WIDGET_VIEW], others_shown)
        for mime, ext in (('image/png', 'png'), ('image/jpeg', 'jpg'), ('image/svg+xml', 'svg')):
            if mime in data: return self.figure(data[mime], ext)
        if 'text/html' in data: return f'<div class="output html">{_text(data["text/html"])}</div>'
        if 'text/markdown' in data: return f'<div class="output markdown">{MD.render(_text(data["text/markdown"]))}</div>'
        if 'text/plain' in data: return f'<pre class="output">{html.escape(last_frames(_text(data["text/plain"])))}</pre>'
        return ''

    def cell(self, cell, preamble=False):
        if cell.cell_type == 'markdown': return MD.render(cell.source)
        if cell.cell_type != 'code': return ''
        d = cell.directives  # the Quarto options nbdev's processors leave on each cell: echo, output, include, code-fold
        if d.get('include') == 'false': return ''
        cell.remove_directives()
        outs = cell.get('outputs', [])
        if not outs and (_test_imports(cell.source) or (preamble and _all_imports(cell.source))): return ''
        parts = []
        if cell.source.strip() and d.get('echo') != 'false':
            code = _highlight(cell.source.strip(), 'python')
            parts.append(f'<details class="code-fold"><summary>{html.escape(d.get("code-summary", "Code").strip(chr(34)))}</summary>{code}</details>'
                         if 'code-fold' in d else code)
        if d.get('output') != 'false':
            image = any(k.startswith('image/') for o in outs for k in o.get('data', {}))
            parts += [self.output(o, image) for o in outs]
        body = ''.join(p for p in parts if p)
        return f'<div class="cell">{body}</div>' if body else ''

    def render(self, nb):
        # the preamble: cells before the first markdown of substance (the title is in the frontmatter by now)
        cells, out, preamble = [c for c in nb.cells if c.cell_type != 'raw'], [], True
        for c in cells:
            if c.cell_type == 'markdown' and not c.source.lstrip().startswith('<!--'): preamble = False
            out.append(self.cell(c, preamble))
        return drop_empty_headings('\n'.join(filter(None, out)))

def drop_empty_headings(body:str)->str:
    "Remove section headings with nothing under them before the next heading of the same or a higher level."
    soup = BeautifulSoup(body, 'html.parser')
    level = lambda t: int(t.name[1]) if isinstance(t, Tag) and re.fullmatch(r'h[1-6]', t.name) else None
    for h in [t for t in soup.find_all(re.compile(r'^h[2-6]$'), recursive=False)]:
        empty = True
        for sib in h.next_siblings:
            if (l := level(sib)) is not None and l <= level(h): break
            if isinstance(sib, Tag) and (l is not None or sib.get_text(strip=True) or sib.find(['img', 'math', 'table'])): empty = False; break
            if isinstance(sib, NavigableString) and sib.strip(): empty = False; break
        if empty: h.decompose()
    return str(soup)

# ---------------------------------------------------------------- the site: navigation and links

def local_href(href, site_url, pages, here=''):
    """Map a link to a notebook (`01_math.ipynb#x`, `../09_train.ipynb` from a tutorial) or to the hosted docs (an nbdev
    doclink, `https://ft-nb.github.io/ft-nb/core.html#set_seed`) onto the local page, as a path from the site's root;
    `pages` maps notebooks (paths in nbs/, or names) to pages, `here` is the folder in nbs/ of the linking notebook.
    Other links are left alone."""
    if href.startswith(site_url): href, here = href[len(site_url):] or 'index.html', ''
    path, _, frag = href.partition('#')
    if path and not urlsplit(path).scheme and not path.startswith('/'):
        key = posixpath.normpath(posixpath.join(here, path))
        if key in pages: path = pages[key]
        elif Path(path).name in pages: path = pages[Path(path).name]
        elif here: path = key
    return path + ('#' + frag if frag else '')

def _relative(target, page):
    "`target` (a path from the site's root) as a link from `page`."
    path, _, frag = target.partition('#')
    if not path or urlsplit(path).scheme or path.startswith('/'): return target
    return posixpath.relpath(path, posixpath.dirname(page) or '.') + ('#' + frag if frag else '')

def sidebar_entries(contents, nbs=NBS):
    """The sidebar's entries with globs expanded: `tutorials/*.ipynb` lists the notebooks of that folder by file name
    (how Quarto reads a glob in `contents`), so a new tutorial is in the sidebar without an edit."""
    for e in contents:
        if isinstance(e, dict): yield {**e, 'contents': list(sidebar_entries(e.get('contents', []), nbs))} if 'contents' in e else e
        elif any(ch in e for ch in '*?['): yield from (nb_key(p, nbs) for p in sorted(Path(nbs).glob(e)) if not p.name.startswith(('_', '.')))
        else: yield e

def sidebar(nbs=NBS): return list(sidebar_entries(yaml.safe_load((Path(nbs)/'sidebar.yml').read_text())['website']['sidebar']['contents'], nbs))

class Site:
    def __init__(self, proc_dir:Path, out:Path):
        self.out = out
        quarto = yaml.safe_load((NBS/'_quarto.yml').read_text())
        nbdev_yml = yaml.safe_load((NBS/'nbdev.yml').read_text())
        self.website = {**quarto.get('website', {}), **nbdev_yml.get('website', {})}
        self.site_url = self.website.get('site-url', '').rstrip('/') + '/'
        self.sidebar = sidebar()
        self.nbs = {p.relative_to(proc_dir).as_posix(): read_nb(p) for p in sorted(proc_dir.rglob('*.ipynb'))}
        self.fm = {key: frontmatter(nb) for key, nb in self.nbs.items()}
        self.pages = {key: posixpath.join(posixpath.dirname(key), fm.get('output-file') or Path(key).with_suffix('.html').name)
                      for key, fm in self.fm.items()}
        self.env = Environment(loader=FileSystemLoader(THEME), autoescape=True)
        self.warnings = []

    def title(self, key): return self.fm.get(key, {}).get('title') or Path(key).stem

    def nav_item(self, entry):
        "A sidebar entry of `sidebar.yml`: a notebook, or a `section` with its own `contents`."
        if isinstance(entry, str): return {'title': self.title(entry), 'href': self.pages.get(entry, entry), 'name': entry}
        return {'section': entry.get('section', ''), 'contents': [self.nav_item(e) for e in entry.get('contents', [])]}

    def reading_order(self, items):
        for i in items: yield from self.reading_order(i['contents']) if 'contents' in i else [i]

    def localise(self, href, here=''): return local_href(href, self.site_url, self.pages, here)

    def fix_links(self, body, key):
        soup, page = BeautifulSoup(body, 'html.parser'), self.pages[key]
        for a in soup.find_all('a', href=True):
            if not a['href'].startswith('#'): a['href'] = _relative(self.localise(a['href'], posixpath.dirname(key)), page)
        toc = [{'id': h['id'], 'text': h.get_text()} for h in soup.find_all('h2', id=True)]
        return str(soup), toc

    def build(self):
        nav = [self.nav_item(e) for e in self.sidebar]
        order = list(self.reading_order(nav))
        navbar = [{'text': i['text'], 'href': self.localise(i['href'])} for i in self.website.get('navbar', {}).get('left', [])]
        tpl = self.env.get_template('page.html')
        for key, nb in self.nbs.items():
            page, fm = self.pages[key], self.fm[key]
            renderer = PageRenderer(self.out, page, nb)
            body, toc = self.fix_links(renderer.render(nb), key)
            self.warnings += [f'{key}: {w}' for w in renderer.warnings]
            pos = next((i for i, o in enumerate(order) if o['name'] == key), None)
            prev, nxt = (order[pos-1] if pos else None, order[pos+1] if pos is not None and pos+1 < len(order) else None)
            root = posixpath.relpath('.', posixpath.dirname(page) or '.') + '/' if posixpath.dirname(page) else ''
            (self.out/page).parent.mkdir(parents=True, exist_ok=True)
            (self.out/page).write_text(tpl.render(site=self.website, title=self.title(key), description=fm.get('description', ''),
                                                   body=body, toc=toc, nav=nav, navbar=navbar, page=page, prev=prev, next=nxt,
                                                   root=root, source=key))
        shutil.copy(THEME/'site.css', self.out/'site.css')
        (self.out/'pygments.css').write_text(HtmlFormatter(style='friendly').get_style_defs('.highlight'))

def build(out=ROOT/'_docs', workers=2):
    "Build the site into `out`: processed notebooks in `out/_proc`, pages and figures in `out`."
    out = Path(out)
    if out.exists(): shutil.rmtree(out)
    proc = out/'_proc'
    process_all(proc, workers)
    site = Site(proc, out)
    site.build()
    for w in site.warnings: print('docs: warning:', w, file=sys.stderr)
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
    "A screenshot of `url`; with a `#fragment`, of the part of the page that starts at the element it names."
    w, h = map(int, size.split(','))
    top = 0
    if '#' in url:
        dom = BeautifulSoup(chromium('--dump-dom', f'--window-size={size}', '--virtual-time-budget=3000', url), 'html.parser')
        top = max(0, int((dom.html or {}).get('data-hash-top', 0)) - 20)
    chromium(f'--screenshot={path}', f'--window-size={w},{top + h}', '--virtual-time-budget=3000', url.partition('#')[0])
    if top:
        from PIL import Image  # pillow comes with matplotlib
        with Image.open(path) as im: im.crop((0, top, w, top + h)).save(path)
    return Path(path)

def screenshot_pages(out:Path)->dict:
    "The pages a person looks at to judge the site: the landing page, the maths, the panel, the first tutorial."
    pages = {'landing': 'index.html', 'math': 'math.html', 'widgets': 'widgets.html#the-panel-at-work'}
    # the first tutorial, in the sidebar's order, that shows a figure
    with_figures = [p for p in (out/TUTORIALS).glob('*.html') if '<img' in p.read_text()]
    order = [Path(e).stem.split('_', 1)[-1] for e in next((x['contents'] for x in sidebar() if isinstance(x, dict) and x.get('section') == 'Tutorials'), [])]
    with_figures.sort(key=lambda p: order.index(p.stem) if p.stem in order else len(order))
    if with_figures: pages['tutorial'] = f'{TUTORIALS}/{with_figures[0].name}'
    return {k: v for k, v in pages.items() if (out/v.partition('#')[0]).exists()}

def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--out', default=str(ROOT/'_docs'), help='output folder (default: _docs)')
    p.add_argument('--workers', type=int, default=2, help='processes for the notebook processing step')
    p.add_argument('--screenshots', nargs='?', const='', metavar='DIR',
                   help='also save screenshots of the landing page, the maths, the panel and a tutorial to DIR (default OUT/screenshots; '
                        'docs/screenshots holds the committed ones)')
    a = p.parse_args()
    t = time.perf_counter()
    out = build(a.out, a.workers)
    print(f'docs: {len(list(out.rglob("*.html")))} pages in {out} ({time.perf_counter() - t:.0f}s)')
    if a.screenshots is not None:
        if not chromium_path(): sys.exit('docs: --screenshots needs chromium (apt-get install chromium)')
        shots = Path(a.screenshots or out/'screenshots'); shots.mkdir(parents=True, exist_ok=True)
        with serve(out) as url:
            for name, page in screenshot_pages(out).items(): print('screenshot:', screenshot(url + page, shots/f'{name}.png'))

if __name__ == '__main__':
    # run as the module `build_docs`, so that the spawned workers of `process_all` can import `process_nb` by name
    sys.path.insert(0, str(Path(__file__).parent))
    import build_docs
    build_docs.main()
