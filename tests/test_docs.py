"""The docs site, checked the way a reader meets it: built offline by `tools/build_docs.py`, served over HTTP, loaded in
headless Chromium. Fails on a notebook without a page, a broken internal link or image, an API page without the
signatures of its exported functions, and a page whose notebook has figures but whose figures do not load."""
import ast, importlib.util, os, re, subprocess, sys, time, urllib.error, urllib.request
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urljoin, urlsplit

import pytest, yaml
from bs4 import BeautifulSoup
from fastcore.nbio import read_nb
from nbdev.config import nbpath2html

from conftest import ROOT

spec = importlib.util.spec_from_file_location('build_docs', ROOT/'tools'/'build_docs.py')
build_docs = importlib.util.module_from_spec(spec); spec.loader.exec_module(build_docs)
NOTEBOOKS = build_docs.source_notebooks()

def page_of(nb): return nbpath2html(nb).name

def test_sidebar_lists_every_notebook_once():
    "`nbs/sidebar.yml` (Tutorials / Explanations / API reference) holds each notebook exactly once."
    def names(items):
        for i in items: yield from names(i['contents']) if isinstance(i, dict) else [i]
    listed = list(names(yaml.safe_load((ROOT/'nbs'/'sidebar.yml').read_text())['website']['sidebar']['contents']))
    assert sorted(listed) == sorted(p.name for p in NOTEBOOKS), 'sidebar.yml must list every notebook in nbs/ exactly once'

def test_links_to_notebooks_and_doclinks_become_local():
    pages = {'01_math.ipynb': 'math.html', '00_core.ipynb': 'core.html', 'index.ipynb': 'index.html'}
    local = lambda h: build_docs.local_href(h, 'https://ft-nb.github.io/ft-nb/', pages)
    assert local('01_math.ipynb') == 'math.html' and local('01_math.ipynb#softmax') == 'math.html#softmax'
    assert local('https://ft-nb.github.io/ft-nb/core.html#set_seed') == 'core.html#set_seed'
    assert local('https://ft-nb.github.io/ft-nb/') == 'index.html'
    assert local('https://docs.python.org/3/x.html') == 'https://docs.python.org/3/x.html' and local('#top') == '#top'

# ---------------------------------------------------------------- the built and served site

@pytest.fixture(scope='module')
def site(tmp_path_factory):
    if not build_docs.chromium_path(): pytest.skip('chromium is not installed (apt-get install chromium): the docs are checked in a browser')
    out = tmp_path_factory.mktemp('docs')/'_docs'
    env = {**os.environ, 'PYTHONPATH': os.pathsep.join(filter(None, [str(ROOT), os.environ.get('PYTHONPATH')]))}
    t = time.perf_counter()
    r = subprocess.run([sys.executable, str(ROOT/'tools'/'build_docs.py'), '--out', str(out)], capture_output=True, text=True, env=env, timeout=300)
    assert r.returncode == 0, r.stderr[-5000:]
    assert time.perf_counter() - t < 120, 'the docs must build in under 2 minutes'
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

def test_screenshots(site):
    "Screenshots of the landing page and the math chapter, for a person to look at (kept in the built site)."
    out, url = site
    (out/'screenshots').mkdir(exist_ok=True)
    for page in ('index.html', 'math.html'):
        png = build_docs.screenshot(url + page, out/'screenshots'/page.replace('.html', '.png'))
        assert png.exists() and png.read_bytes().startswith(b'\x89PNG') and png.stat().st_size > 20_000, f'no screenshot of {page}'
