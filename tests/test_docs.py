"""The docs site, checked the way a reader meets it: built offline by `tools/build_docs.py`, served over HTTP, loaded in
headless Chromium with every other host unreachable. Fails on a notebook without a page, a broken internal link or image,
an API page without the signatures of its exported functions, a page whose notebook has figures but whose figures do
not load, raw TeX in a page's text, a widget's text repr (or a missing panel) where the panel should be, a tutorial
without a figure, a numbered chapter without any output, test-import cells, empty headings, progress-bar frames, and a
landing page without a figure or without a link to every chapter and tutorial."""
import ast, importlib.util, os, re, resource, subprocess, sys, urllib.error, urllib.request
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urljoin, urlsplit

import pytest
from pathlib import Path
from bs4 import BeautifulSoup
from fastcore.basics import AttrDict
from fastcore.nbio import read_nb
from nbdev.config import nbpath2html

from conftest import ROOT

spec = importlib.util.spec_from_file_location('build_docs', ROOT/'tools'/'build_docs.py')
build_docs = importlib.util.module_from_spec(spec); spec.loader.exec_module(build_docs)
NBS = ROOT/'nbs'
NOTEBOOKS = build_docs.source_notebooks()
TUTORIALS = [nb for nb in NOTEBOOKS if nb.parent.name == build_docs.TUTORIALS]
CHAPTERS = [nb for nb in NOTEBOOKS if nb.parent == NBS and nb.name[0].isdigit()]

def page_of(nb): return nbpath2html(nb).relative_to(NBS).as_posix()

def test_sidebar_lists_every_notebook_once():
    "`nbs/sidebar.yml` (Tutorials / How-to guides / Explanations / API reference), its globs expanded, holds each notebook exactly once."
    def names(items):
        for i in items: yield from names(i['contents']) if isinstance(i, dict) else [i]
    listed = list(names(build_docs.sidebar()))
    assert sorted(listed) == sorted(build_docs.nb_key(p) for p in NOTEBOOKS), 'sidebar.yml must list every notebook in nbs/ and nbs/tutorials/ exactly once'
    tutorials = next(e['contents'] for e in build_docs.sidebar() if isinstance(e, dict) and e.get('section') == 'Tutorials')
    assert tutorials == [build_docs.nb_key(p) for p in TUTORIALS], 'the Tutorials section lists nbs/tutorials/ by file name'

def test_sidebar_globs_follow_the_folder(tmp_path):
    (tmp_path/'tutorials').mkdir()
    for n in ('02_b.ipynb', '01_a.ipynb', '_draft.ipynb'): (tmp_path/'tutorials'/n).write_text('{}')
    (tmp_path/'sidebar.yml').write_text('website: {sidebar: {contents: [index.ipynb, {section: T, contents: ["tutorials/*.ipynb"]}]}}')
    assert build_docs.sidebar(tmp_path) == ['index.ipynb', {'section': 'T', 'contents': ['tutorials/01_a.ipynb', 'tutorials/02_b.ipynb']}]

def test_links_to_notebooks_and_doclinks_become_local():
    pages = {'01_math.ipynb': 'math.html', '00_core.ipynb': 'core.html', 'index.ipynb': 'index.html'}
    local = lambda h: build_docs.local_href(h, 'https://ft-nb.github.io/ft-nb/', pages)
    assert local('01_math.ipynb') == 'math.html' and local('01_math.ipynb#softmax') == 'math.html#softmax'
    assert local('https://ft-nb.github.io/ft-nb/core.html#set_seed') == 'core.html#set_seed'
    assert local('https://ft-nb.github.io/ft-nb/') == 'index.html'
    assert local('https://docs.python.org/3/x.html') == 'https://docs.python.org/3/x.html' and local('#top') == '#top'
    pages = {'09_train.ipynb': 'train.html', 'tutorials/01_first_ner.ipynb': 'tutorials/first_ner.html', 'index.ipynb': 'index.html'}
    from_tutorial = lambda h: build_docs.local_href(h, 'https://ft-nb.github.io/ft-nb/', pages, 'tutorials')
    assert from_tutorial('../09_train.ipynb#x') == 'train.html#x' and from_tutorial('01_first_ner.ipynb') == 'tutorials/first_ner.html'
    assert build_docs.local_href('tutorials/01_first_ner.ipynb', '', pages) == 'tutorials/first_ner.html'
    assert build_docs._relative('train.html#x', 'tutorials/first_ner.html') == '../train.html#x'

def test_maths_becomes_mathml():
    "TeX is typeset at build time: MathML, which browsers lay out without a script; TeX it cannot read is marked."
    m = build_docs.tex_to_mathml(r'\frac{e^{z_k}}{\sum_j e^{z_j}}', display=True)
    assert m.startswith('<math ') and 'display="block"' in m and '<mfrac>' in m and '\\' not in m.split('>', 1)[1]
    assert '\\' not in re.sub(r'alttext="[^"]*"', '', build_docs.tex_to_mathml(r'\arg\max_i x_i + \big\| y \big\|'))
    assert build_docs.tex_to_mathml(r'\frac{').startswith('<code class="tex-error">')

def test_last_frames():
    "Of a progress bar redrawn with carriage returns, only what a terminal shows at the end is kept."
    bar = '█\r█\r\rEpoch 1/1 : |----| 0% [0/2]\rEpoch 1/1 : |████| 100% [2/2 00:01<00:00]\rEpoch 1/1 :            \r\nepoch  loss\n0      0.5\n'
    assert build_docs.last_frames(bar) == 'Epoch 1/1 : |████| 100% [2/2 00:01<00:00]\nepoch  loss\n0      0.5\n'
    assert build_docs.last_frames('\rWriting: 0%|  | 0/1\rWriting: 100%|##| 1/1\n') == 'Writing: 100%|##| 1/1\n'
    assert build_docs.last_frames('no bar\n') == 'no bar\n'

def test_empty_headings_dropped():
    body = '<h2 id="a">A</h2><p>x</p><h2 id="export">Export</h2>\n<h2 id="b">B</h2><h3 id="c">C</h3><p>y</p><h2 id="d">D</h2>'
    assert re.findall(r'id="(\w)"', build_docs.drop_empty_headings(body)) == ['a', 'b', 'c']

def test_widget_state_drawn():
    "A saved widget tree becomes static controls: buttons, a slider with its readout, a text box, the status line."
    state = {'a': {'model_name': 'VBoxModel', 'state': {'children': ['IPY_MODEL_b', 'IPY_MODEL_c', 'IPY_MODEL_d', 'IPY_MODEL_e']}},
             'b': {'model_name': 'ButtonModel', 'state': {'description': 'start', 'button_style': 'success'}},
             'c': {'model_name': 'FloatLogSliderModel', 'state': {'description': 'lr', 'value': 1e-3, 'min': -6, 'max': -1, 'readout_format': '.1e'}},
             'd': {'model_name': 'IntTextModel', 'state': {'description': 'epochs', 'value': 3}},
             'e': {'model_name': 'HTMLModel', 'state': {'value': 'epoch 1/3'}}}
    nb = AttrDict(metadata={'widgets': {build_docs.WIDGET_STATE: {'state': state}}}, cells=[])
    r = build_docs.PageRenderer(Path('/nonexistent'), 'x.html', nb)
    out = BeautifulSoup(r.output(AttrDict(output_type='display_data', data={build_docs.WIDGET_VIEW: {'model_id': 'a'}, 'text/plain': 'VBox(children=(...'})), 'html.parser')
    assert [b.get_text() for b in out.select('button')] == ['start'] and out.select_one('output').get_text() == '1.0e-03'
    assert out.select_one('.widget-text input')['value'] == '3' and 'epoch 1/3' in out.get_text() and 'children=' not in out.get_text()
    missing = build_docs.PageRenderer(Path('/nonexistent'), 'x.html', AttrDict(metadata={}, cells=[]))
    assert 'widget-missing' in missing.output(AttrDict(output_type='display_data', data={build_docs.WIDGET_VIEW: {'model_id': 'a'}}))
    assert missing.warnings and missing.output(AttrDict(output_type='display_data', data={build_docs.WIDGET_VIEW: {'model_id': 'a'}}), True) == ''

# ---------------------------------------------------------------- the built and served site

@pytest.fixture(scope='module')
def site(tmp_path_factory):
    if not build_docs.chromium_path(): pytest.skip('chromium is not installed (apt-get install chromium): the docs are checked in a browser')
    out = tmp_path_factory.mktemp('docs')/'_docs'
    env = {**os.environ, 'PYTHONPATH': os.pathsep.join(filter(None, [str(ROOT), os.environ.get('PYTHONPATH')]))}
    cpu = lambda: (lambda u: u.ru_utime + u.ru_stime)(resource.getrusage(resource.RUSAGE_CHILDREN))
    t = cpu()
    r = subprocess.run([sys.executable, str(ROOT/'tools'/'build_docs.py'), '--out', str(out)], capture_output=True, text=True, env=env, timeout=400)
    assert r.returncode == 0, r.stderr[-5000:]
    # CPU seconds, not wall time: on a shared machine the wall clock measures the neighbours (about 45 s today)
    assert cpu() - t < 120, 'the docs must build in under 2 CPU-minutes'
    with build_docs.serve(out) as url: yield out, url

def fetch(url):
    "Status and body of `url` (404 and the like as a status, not an exception)."
    try:
        with urllib.request.urlopen(url, timeout=10) as r: return r.status, r.read()
    except urllib.error.HTTPError as e: return e.code, b''

@pytest.fixture(scope='module')
def doms(site):
    "Each notebook's page as Chromium renders it (after the load event, so images carry `data-loaded`)."
    _, url = site
    dump = lambda nb: BeautifulSoup(build_docs.chromium('--dump-dom', '--virtual-time-budget=3000', url + page_of(nb)), 'html.parser')
    with ThreadPoolExecutor(2) as ex: return dict(zip(NOTEBOOKS, ex.map(dump, NOTEBOOKS)))

def test_every_notebook_has_a_page(site, doms):
    out, url = site
    missing = [nb.name for nb in NOTEBOOKS if fetch(url + page_of(nb))[0] != 200 or not doms[nb].select_one('main h1')]
    assert not missing, f'no rendered page for {missing}'

def test_internal_links_resolve(site, doms):
    "Every `<a href>`, `<img src>`, stylesheet and script on the site's own host is served with 200; in-page anchors exist."
    _, url = site
    host, status, ids, broken = urlsplit(url).netloc, {}, {}, []
    for nb, dom in doms.items():
        page = url + page_of(nb)
        for tag, attr in (('a', 'href'), ('img', 'src'), ('link', 'href'), ('script', 'src')):
            for el in dom.find_all(tag, **{attr: True}):
                target = urljoin(page, el[attr])
                if urlsplit(target).netloc != host: continue
                path, _, frag = target.partition('#')
                if path not in status: status[path] = fetch(path)
                code, body = status[path]
                if code != 200: broken.append(f'{page_of(nb)}: {el[attr]} ({code})'); continue
                if frag and el[attr].startswith('#'):  # (a doclink may name a method without a heading of its own, as on Quarto's site)
                    if path not in ids: ids[path] = {e['id'] for e in BeautifulSoup(body, 'html.parser').find_all(id=True)}
                    if frag not in ids[path]: broken.append(f'{page_of(nb)}: {el[attr]} (no #{frag} there)')
    assert not broken, 'broken internal links:\n' + '\n'.join(broken)

def _exported(nb):
    "The functions and classes a notebook exports (its module's `__all__`), for notebooks with a `default_exp`."
    m = re.search(r'^#\|\s*default_exp\s+(\S+)', '\n'.join(c.source for c in read_nb(nb).cells if c.cell_type == 'code'), re.M)
    if not m: return []
    tree = ast.parse((ROOT/'ft_nb'/(m.group(1).replace('.', '/') + '.py')).read_text())
    public = next((ast.literal_eval(n.value) for n in tree.body if isinstance(n, ast.Assign) and getattr(n.targets[0], 'id', '') == '__all__'), [])
    return [n.name for n in tree.body if isinstance(n, (ast.FunctionDef, ast.ClassDef)) and n.name in public]

def test_api_pages_have_signatures(doms):
    "Each exported function or class appears with its parameters in a signature block: `show_doc`'s highlighted Python."
    missing = []
    for nb, dom in doms.items():
        sigs = ' '.join(code.get_text() for code in dom.select('main .output pre > code.language-python'))
        missing += [f'{page_of(nb)}: {name}' for name in _exported(nb) if not re.search(rf'\b(def|class)\s+{name}\s*\(', sigs)]
    assert any(_exported(nb) for nb in NOTEBOOKS), 'found no exported symbols at all: the check would prove nothing'
    assert not missing, 'exported symbols without a signature on their page:\n' + '\n'.join(missing)

def _figures(nb):
    "How many image outputs of `nb` a reader should see (cells not hidden, outputs not switched off)."
    shown = lambda c: not ({'hide', 'exporti', 'export'} & c.directives.keys() or c.directive('include') == 'false' or c.directive('output') == 'false')
    return sum(any(k.startswith('image/') for k in o.get('data', {})) for c in read_nb(nb).cells
               if c.cell_type == 'code' and shown(c) for o in c.get('outputs', []))

def test_figures_load(site, doms):
    "Pages whose notebook has figures show them: each `<img>` loaded in the browser, and each is a served PNG."
    _, url = site
    with_figures = {nb: n for nb in NOTEBOOKS if (n := _figures(nb))}
    assert with_figures, 'no notebook has figures: the check would prove nothing'
    problems = []
    for nb, n in with_figures.items():
        imgs = doms[nb].select('main img')
        loaded = [i for i in imgs if i.get('data-loaded') == 'yes']
        if len(loaded) < n or len(loaded) < len(imgs): problems.append(f'{page_of(nb)}: {len(loaded)} of {len(imgs)} images loaded, {n} figures in the notebook')
        for i in imgs:
            code, body = fetch(urljoin(url + page_of(nb), i['src']))
            if i['src'].endswith('.png') and not body.startswith(b'\x89PNG'): problems.append(f'{page_of(nb)}: {i["src"]} is not a PNG ({code})')
    assert not problems, '\n'.join(problems)

def _prose(dom):
    "The text a reader sees in a page's main column, outside code, outputs and typeset maths."
    main = BeautifulSoup(str(dom.select_one('main')), 'html.parser')
    for el in main.find_all(['pre', 'code', 'math', 'script', 'style']): el.decompose()
    return main.get_text(' ')

RAW_TEX = re.compile(r'\$\$|\\[(\[]|\\[A-Za-z]+\{|\\(frac|sum|log|mathrm|mathbf|mathbb|mathcal|text|partial|alpha|beta|eta|sigma|cdot|left|right|begin|end|big|qquad|operatorname)\b')

def test_no_raw_tex(doms):
    "Maths is typeset: pages whose notebook has TeX show MathML, and no page shows TeX source or a formula it could not read."
    problems = [f'{page_of(nb)}: raw TeX {m.group(0)!r} in "...{t[max(0, m.start()-40):m.end()+40]}..."' for nb, dom in doms.items()
                for t in [_prose(dom)] for m in [RAW_TEX.search(t)] if m]
    problems += [f'{page_of(nb)}: TeX latex2mathml cannot read: {e.get_text()[:80]}' for nb, dom in doms.items() for e in dom.select('main .tex-error')]
    with_tex = [nb for nb in NOTEBOOKS if any(c.cell_type == 'markdown' and re.search(r'\$[^$\n]+\$', re.sub(r'`[^`]*`', '', c.source)) for c in read_nb(nb).cells)]
    assert with_tex, 'no notebook has maths: the check would prove nothing'
    problems += [f'{page_of(nb)}: maths in the notebook, none typeset on the page' for nb in with_tex if not doms[nb].select('main math')]
    assert not problems, '\n'.join(problems)

WIDGET_REPR = re.compile(r'\b[A-Z]\w*\((children|value|description)=')

def _widget_outputs(nb):
    "How many widget outputs of `nb` a reader should see as a panel (an output without an image beside it in its cell)."
    shown = lambda c: not ({'hide', 'exporti', 'export'} & c.directives.keys() or c.directive('include') == 'false' or c.directive('output') == 'false')
    n = 0
    for c in read_nb(nb).cells:
        if c.cell_type != 'code' or not shown(c): continue
        outs = c.get('outputs', [])
        if not any(k.startswith('image/') for o in outs for k in o.get('data', {})): n += sum(build_docs.WIDGET_VIEW in o.get('data', {}) for o in outs)
    return n

def test_widgets_are_panels(doms):
    "Each widget a notebook shows is drawn from its saved state: never its text repr (`VBox(children=...`), never a gap."
    problems = [f'{page_of(nb)}: widget repr {m.group(0)!r} in the page' for nb, dom in doms.items()
                for m in [WIDGET_REPR.search(dom.select_one('main').get_text(' '))] if m]
    problems += [f'{page_of(nb)}: {len(dom.select("main .widget-missing"))} widget output(s) saved without widget state (run the notebook with tools/run_nb.py)'
                 for nb, dom in doms.items() if dom.select('main .widget-missing')]
    with_widgets = {nb: n for nb in NOTEBOOKS if (n := _widget_outputs(nb))}
    assert with_widgets, 'no notebook shows a widget: the check would prove nothing'
    problems += [f'{page_of(nb)}: {n} widgets in the notebook, {len(doms[nb].select("main .widget-panel"))} panels on the page'
                 for nb, n in with_widgets.items() if len(doms[nb].select('main .widget-panel')) < n]
    assert not problems, '\n'.join(problems)

def test_tutorials_have_figures(doms):
    "Every tutorial shows at least one figure, loaded."
    assert TUTORIALS, 'no notebook in nbs/tutorials/'
    bare = [page_of(nb) for nb in TUTORIALS if not doms[nb].select('main img[data-loaded="yes"]')]
    assert not bare, f'tutorials without a figure: {bare}'

OUTPUTS = 'main pre.output, main img.figure, main .output.html, main .widget-panel'

def test_chapters_have_outputs(doms):
    "Every numbered chapter shows at least one saved output of its own (show_doc's signatures do not count)."
    bare = [page_of(nb) for nb in CHAPTERS if not doms[nb].select(OUTPUTS)]
    assert not bare, f'numbered chapters whose page shows no output (run them with tools/run_nb.py): {bare}'

def test_reader_sees_no_noise(doms):
    "No cell that only imports test helpers, no heading with nothing under it, no redrawn progress-bar frames."
    problems = []
    for nb, dom in doms.items():
        for code in dom.select('main .cell > pre.highlight'):
            if build_docs._test_imports(code.get_text()): problems.append(f'{page_of(nb)}: a test-import cell: {code.get_text()[:60]!r}')
        heads = dom.select('main > h2, main > h3, main > h4')
        for h in heads:
            nxt = h.find_next_sibling()
            if nxt is None or nxt.name == 'nav' or (re.fullmatch(r'h[1-6]', nxt.name) and int(nxt.name[1]) <= int(h.name[1])):
                problems.append(f'{page_of(nb)}: empty heading {h.get_text()!r}')
        for out in dom.select('main pre.output'):
            t = out.get_text()
            if '\r' in t or any(len(re.findall(r'\d+/\d+ [\d:]+<', line)) > 1 for line in t.splitlines()):
                problems.append(f'{page_of(nb)}: progress-bar frames in an output: {t[:80]!r}')
    assert not problems, '\n'.join(problems)

def test_landing_page(site, doms):
    "The landing page shows a figure, links every numbered chapter (its contents table) and every tutorial; the navbar leads to the tutorials."
    _, url = site
    index = next(nb for nb in NOTEBOOKS if nb.name == 'index.ipynb')
    dom = doms[index]
    assert dom.select('main img[data-loaded="yes"]'), 'the landing page shows no figure'
    links = {urljoin(url, a['href']).partition('#')[0] for a in dom.select('main a[href]')}
    missing = [page_of(nb) for nb in CHAPTERS + TUTORIALS if url + page_of(nb) not in links]
    assert not missing, f'the landing page does not link to {missing}'
    nav = next(a['href'] for a in dom.select('header.navbar nav a') if a.get_text() == 'Tutorials')
    target, _, frag = urljoin(url, nav).partition('#')
    tdom = doms[index] if target == url + 'index.html' else BeautifulSoup(fetch(target)[1], 'html.parser')
    section = tdom.find(id=frag) if frag else tdom.select_one('main')
    assert section is not None, f"the navbar's Tutorials link {nav} leads nowhere"
    around = [section] + (list(section.find_next_siblings())[:6] if frag else [])
    reached = {urljoin(target, a['href']).partition('#')[0] for el in around for a in ([el] if el.name == 'a' else el.find_all('a', href=True)) if a.get('href')}
    missing = [page_of(nb) for nb in TUTORIALS if url + page_of(nb) not in reached]
    assert not missing, f'the navbar\'s Tutorials link ({nav}) does not lead to {missing}'

def test_landing_page_shows_the_tutorials_current_run():
    "The landing page's real run is shown from the first tutorial's saved outputs: they must be the tutorial's current ones."
    index = read_nb(NBS/'index.ipynb')
    notebook = re.search(r"^TUTORIAL = '([^']+)'", '\n'.join(c.source for c in index.cells if c.cell_type == 'code'), re.M)
    assert notebook, "index.ipynb names no TUTORIAL whose run it shows"
    assert (NBS/notebook.group(1)).exists(), f'nbs/{notebook.group(1)}, whose real run the landing page shows, is missing'
    source = read_nb(NBS/notebook.group(1))
    def shown(outs):  # what a reader sees: the text of each stream, and each display in order
        streams = {n: ''.join(o.text for o in outs if o.output_type == 'stream' and o.name == n) for n in ('stdout', 'stderr')}
        return streams, [{k: ''.join(v) if isinstance(v, list) else v for k, v in o.data.items()} for o in outs if 'data' in o]
    stale = []
    for c in index.cells:
        if c.cell_type != 'code' or not (m := re.search(r"saved_outputs\(TUTORIAL, '(.+)'\)", c.source)): continue
        cell = next((x for x in source.cells if x.cell_type == 'code' and m.group(1) in x.source and x.get('outputs')), None)
        if cell is None: stale.append(f'{notebook.group(1)} has no saved output of a cell with {m.group(1)!r}'); continue
        if shown(c.get('outputs', [])) != shown(cell.outputs): stale.append(f'the output of {m.group(1)!r} is not the tutorial\'s current one')
    assert not stale, '\n'.join(stale) + '\nrun `python tools/run_nb.py nbs/index.ipynb` after the tutorial'

def test_screenshots(site):
    "Screenshots of the landing page, the maths, the panel and a tutorial, for a person to look at (kept in the built site)."
    out, url = site
    (out/'screenshots').mkdir(exist_ok=True)
    for name, page in build_docs.screenshot_pages(out).items():
        png = build_docs.screenshot(url + page, out/'screenshots'/f'{name}.png')
        assert png.exists() and png.read_bytes().startswith(b'\x89PNG') and png.stat().st_size > 20_000, f'no screenshot of {page}'
