"""Save the state of the ipywidgets a notebook displays into the notebook, as Jupyter's "Save Widget State" does.

A widget output in a notebook is only a model id and a text repr (`VBox(children=(HBox(...`); what the widget looked like
lives in the kernel. Saved into `metadata.widgets` (which `nbdev-clean` keeps), that state lets the docs site draw the
panel (`tools/build_docs.py`). Call `save_widget_state(nb)` right after executing `nb` in this process (execnb's
`CaptureShell`, as `tools/run_nb.py` does): only the widgets its outputs display, and the widgets those refer to, are kept."""
import base64, re

WIDGET_VIEW, WIDGET_STATE = 'application/vnd.jupyter.widget-view+json', 'application/vnd.jupyter.widget-state+json'

def displayed_ids(nb)->list[str]:
    "The model ids of the widgets that `nb`'s outputs display."
    return [o['data'][WIDGET_VIEW]['model_id'] for c in nb['cells'] for o in c.get('outputs', []) if WIDGET_VIEW in o.get('data', {})]

def _refs(value):
    "Model ids a widget's state refers to (`IPY_MODEL_<id>`: children, layout, style, ...)."
    if isinstance(value, str): return re.findall(r'^IPY_MODEL_(\w+)$', value)
    if isinstance(value, (list, tuple)): return [r for v in value for r in _refs(v)]
    if isinstance(value, dict): return [r for v in value.values() for r in _refs(v)]
    return []

def widget_state(ids)->dict:
    "The saved-state document of the live widgets `ids` and everything they refer to."
    from ipywidgets import Widget
    live = Widget.get_manager_state(drop_defaults=True)['state']
    todo, keep = list(ids), {}
    while todo:
        mid = todo.pop()
        if mid in keep or mid not in live: continue
        keep[mid] = model = live[mid]
        todo += _refs(model.get('state', {}))
        for b in model.get('buffers', []):  # get_manager_state leaves binary values as bytes; the notebook keeps base64
            if isinstance(b.get('data'), (bytes, bytearray, memoryview)): b['data'], b['encoding'] = base64.b64encode(b['data']).decode(), 'base64'
    return {'version_major': 2, 'version_minor': 0, 'state': keep}

def renumber(nb, state:dict)->dict:
    """Model ids are random: renumber them in the order the notebook shows them (outputs and references rewritten), so
    that running a notebook again changes its file only where the widgets changed."""
    new = {}
    def visit(mid):
        if mid in new or mid not in state['state']: return
        new[mid] = f'{len(new):032x}'
        for r in _refs(state['state'][mid].get('state', {})): visit(r)
    for mid in displayed_ids(nb): visit(mid)
    swap = lambda v: re.sub(r'^IPY_MODEL_(\w+)$', lambda m: 'IPY_MODEL_' + new.get(m.group(1), m.group(1)), v) if isinstance(v, str) else \
        [swap(x) for x in v] if isinstance(v, list) else {k: swap(x) for k, x in v.items()} if isinstance(v, dict) else v
    for c in nb['cells']:
        for o in c.get('outputs', []):
            if WIDGET_VIEW in o.get('data', {}): o['data'][WIDGET_VIEW]['model_id'] = new.get(o['data'][WIDGET_VIEW]['model_id'], o['data'][WIDGET_VIEW]['model_id'])
    models = {new[k]: {**m, 'state': swap(m.get('state', {}))} for k, m in state['state'].items() if k in new}
    return {**state, 'state': dict(sorted(models.items()))}

def save_widget_state(nb)->int:
    "Put the state of the widgets `nb` displays into `nb.metadata.widgets` (drop it when none); returns how many models."
    ids = displayed_ids(nb)
    try: state = renumber(nb, widget_state(ids)) if ids else None
    except ImportError: state = None
    if state and state['state']: nb['metadata']['widgets'] = {WIDGET_STATE: state}
    else: nb['metadata'].pop('widgets', None)
    return len(state['state']) if state else 0
