"Tests for `ft_nb.data.conll`: malformed fixtures, tag schemes, round trips, and the counts of every NER corpus in shared/data."
import gzip, re
from pathlib import Path
import pytest
from hypothesis import given, settings, strategies as st
from ft_nb.core import dev_data_dir
from ft_nb.data.core import Sentence
from ft_nb.data.conll import (CORPUS_FORMATS, ConllReader, DataError, detect_scheme, map_types, read_conll, to_bioes,
                              to_iob2, write_conll)

FIX = Path(__file__).parent/'fixtures'/'conll'

def words_tags(sents): return [(s.words, s.tags) for s in sents]

# -- malformed files: each error names the file, the line and what was expected --------------------------------

@pytest.mark.parametrize('name, kwargs, message', [
    ('wrong_columns.txt', {}, 'wrong_columns.txt:5: expected 4 columns like line 3, found 3'),
    ('empty_token.tsv', {}, 'empty_token.tsv:3: empty word in column 0: expected a word'),
    ('invalid_tag.txt', {}, "invalid_tag.txt:2: invalid tag 'I_PER': expected O or B-/I-/E-/S- followed by an entity type"),
    ('bioes_in_iob2.txt', {'scheme': 'IOB2'}, "bioes_in_iob2.txt:3: invalid tag 'S-MISC': expected O or B-/I- followed"),
    ('binary.bin', {}, 'binary.bin:3: NUL byte at byte offset 8: this looks like a binary (or UTF-16) file, expected UTF-8 text'),
    ('latin1.txt', {}, 'latin1.txt:5: byte 0xe9 at byte offset 40 is not UTF-8: expected UTF-8 text'),
    ('empty.txt', {}, 'empty.txt:1: empty file: no sentences in 0 lines, expected lines such as'),
    ('blank_only.txt', {}, 'blank_only.txt:5: empty file: no sentences in 5 lines'),
    ('iob1.txt', {'tag_col': 3}, 'iob1.txt:1: the tag column 3 does not exist: expected at least 4 columns, found 3'),
    ('iob1.txt', {'tag_col': 0}, 'iob1.txt:1: word and tag are both column 0'),
])
def test_malformed_file_errors(name, kwargs, message):
    with pytest.raises(DataError) as e: read_conll(FIX/name, **kwargs)
    assert str(e.value).startswith(str(FIX/name) + ':')
    assert message in str(e.value)

def test_truncated_gzip_names_file_and_line():
    with pytest.raises(DataError, match=re.escape(str(FIX/'truncated.gz')) + r':\d+: corrupt gzip data .*expected a complete gzip file'):
        read_conll(FIX/'truncated.gz')

def test_errors_are_value_errors_with_short_tracebacks():
    with pytest.raises(ValueError) as e: read_conll(FIX/'latin1.txt')
    assert e.value.__cause__ is None and e.value.__suppress_context__ # no chained UnicodeDecodeError

# -- well-formed quirks ------------------------------------------------------------------------------------

def test_crlf_and_docstart():
    sents, rep = read_conll(FIX/'crlf.txt')
    assert words_tags(sents) == [(['EU', 'rejects'], ['B-ORG', 'O']), (['Peter', 'Blackburn'], ['B-PER', 'I-PER'])]
    assert [s.where for s in sents] == [f"{FIX/'crlf.txt'}:3", f"{FIX/'crlf.txt'}:6"]
    assert (rep.doc_starts, rep.skipped, rep.lines) == ([0], {'-DOCSTART-': 1}, 7)

def test_gzip_found_by_magic_bytes():
    sents, rep = read_conll(FIX/'sample.conll.gz')
    assert words_tags(sents) == [(['EU', 'rejects'], ['B-ORG', 'O']), (['Peter', 'Blackburn'], ['B-PER', 'I-PER'])]
    assert rep.entities == {'ORG': 1, 'PER': 1}

def test_hashtags_are_words_and_tab_lines_are_breaks():
    sents, rep = read_conll(FIX/'hashtags.conll')
    assert [s.words for s in sents] == [['#MondayMotivation', 'with', '@paulwalk'], ['#', 'Love', '#Bieber'], ['New', 'York']]
    assert rep.skipped == {} and rep.sentences == 3 and rep.entities == {'person': 2, 'location': 1}

def test_conllu_comments_newdoc_spaces_in_words_and_repairs():
    sents, rep = read_conll(FIX/'comments.iob2', **CORPUS_FORMATS['uner_v1'])
    assert words_tags(sents) == [(['Proces', 'na', 'Kosovu'], ['O', 'O', 'B-LOC']),
                                 (['Francuza', 'Pierricka', '34 470'], ['B-OTH', 'B-PER', 'O'])]
    assert rep.skipped == {'# newdoc': 1, 'comment': 4} and rep.doc_starts == [0]
    assert rep.repaired == [f"{FIX/'comments.iob2'}:11 I-PER -> B-PER"]
    sents, rep = read_conll(FIX/'comments.iob2', **CORPUS_FORMATS['uner_v1'], type_map={'OTH': 'O'})
    assert sents[1].tags == ['O', 'B-PER', 'O'] and rep.dropped == {'OTH': 1} and rep.entities == {'LOC': 1, 'PER': 1}

def test_comment_that_looks_like_data_fails_loudly(tmp_path):
    (tmp_path/'c.txt').write_text('EU NNP B-ORG\n\n# sentence 2\nPeter NNP B-PER\n')
    with pytest.raises(DataError, match=r"c.txt:3: invalid tag '2'"): read_conll(tmp_path/'c.txt')

def test_iob1_is_converted_not_repaired():
    sents, rep = read_conll(FIX/'iob1.txt')
    assert [s.tags for s in sents] == [['B-ORG', 'O', 'B-MISC', 'O'], ['B-PER', 'I-PER', 'B-PER']]
    assert rep.scheme == 'IOB1' and rep.repaired == [] and rep.entities == {'ORG': 1, 'MISC': 1, 'PER': 2}
    _, rep = read_conll(FIX/'iob1.txt', scheme='IOB2')
    assert [r.split(' ', 1)[1] for r in rep.repaired] == ['I-ORG -> B-ORG', 'I-MISC -> B-MISC', 'I-PER -> B-PER']
    assert rep.repaired[2].startswith(f"{FIX/'iob1.txt'}:6 ")

def test_streaming_reader_yields_unconverted_sentences():
    it = ConllReader().sentences(FIX/'iob1.txt')
    assert next(it).tags == ['I-ORG', 'O', 'I-MISC', 'O']

def test_unlabelled_and_bioes_output(tmp_path):
    sents, _ = read_conll(FIX/'iob1.txt', to='BIOES')
    assert sents[1].tags == ['B-PER', 'E-PER', 'S-PER']
    words = [Sentence(s.words, None, s.where) for s in sents]
    write_conll(words, tmp_path/'words.txt', doc_starts=[1])
    assert (tmp_path/'words.txt').read_text().splitlines()[:6] == ['EU', 'rejects', 'German', 'call', '', '-DOCSTART-']
    back, rep = read_conll(tmp_path/'words.txt', tag_col=None)
    assert words_tags(back) == words_tags(words) and rep.doc_starts == [1] and rep.entities == {}

# -- tag schemes -------------------------------------------------------------------------------------------

TAGS = st.lists(st.sampled_from(['O', 'B-PER', 'I-PER', 'E-PER', 'S-PER', 'B-LOC', 'I-LOC', 'S-LOC']), max_size=12)

def valid_iob2(tags): return all(not t.startswith('I-') or (i and tags[i-1][2:] == t[2:] and tags[i-1] != 'O') for i, t in enumerate(tags))

@given(TAGS)
def test_scheme_conversions_agree(tags):
    iob2 = to_iob2(tags)
    assert valid_iob2(iob2) and to_iob2(iob2) == iob2
    assert to_iob2(to_bioes(tags)) == iob2 and to_bioes(to_bioes(tags)) == to_bioes(tags)
    assert sum(t[0] == 'B' for t in iob2) == sum(t[0] in 'BS' for t in to_bioes(tags))

def test_detect_scheme_and_map_types():
    assert detect_scheme([['I-PER', 'I-PER', 'B-PER', 'O', 'I-LOC']]) == 'IOB1'
    assert detect_scheme([['B-PER', 'I-PER', 'O', 'I-LOC', 'B-LOC', 'B-ORG']]) == 'IOB2'
    assert detect_scheme([['B-PER', 'E-PER']]) == 'BIOES'
    assert map_types(['B-PERSON', 'I-PERSON', 'B-OTH'], {'PERSON': 'PER', 'OTH': 'O'}) == ['B-PER', 'I-PER', 'O']

# -- writing -----------------------------------------------------------------------------------------------

WORD = st.text(st.characters(blacklist_categories=('Cc', 'Cs', 'Zs', 'Zl', 'Zp')), min_size=1, max_size=6).filter(
    lambda w: w.strip() and not w.startswith(('-DOCSTART-', '\ufeff')))

@settings(max_examples=50, deadline=None)
@given(st.lists(st.lists(st.tuples(WORD, st.sampled_from(['O', 'B-PER', 'I-PER', 'B-creative-work'])), min_size=1, max_size=5), min_size=1, max_size=4),
       st.sampled_from(['IOB2', 'BIOES']), st.sampled_from(['\t', ' ']), st.booleans())
def test_write_read_round_trip(tmp_path_factory, sents, scheme, sep, gz):
    sents = [Sentence([w for w, _ in s], to_iob2([t for _, t in s]), 'h:1') for s in sents]
    path = tmp_path_factory.mktemp('rt')/('out.txt.gz' if gz else 'out.txt')
    write_conll(sents, path, scheme, sep, doc_starts=[0])
    back, rep = read_conll(path)
    assert words_tags(back) == words_tags(sents) and rep.doc_starts == [0]

def test_writer_refuses_words_that_would_not_read_back(tmp_path):
    with pytest.raises(DataError, match="pt.iob2:9: word '34 470' cannot be written with separator ' '"):
        write_conll([Sentence(['34', '34 470'], ['O', 'O'], 'pt.iob2:9')], tmp_path/'x.txt', sep=' ')
    write_conll([Sentence(['34 470'], ['O'], 'pt.iob2:9')], tmp_path/'x.txt') # a tab-separated file can hold it
    assert words_tags(read_conll(tmp_path/'x.txt')[0]) == [(['34 470'], ['O'])]

# -- the real corpora: counts from each SOURCE.md --------------------------------------------------------------

def ents(per, loc, org, misc=None):
    return {'PER': per, 'LOC': loc, 'ORG': org, **({} if misc is None else {'MISC': misc})}

WNUT_TYPES = ['person', 'location', 'corporation', 'product', 'creative-work', 'group']
# (corpus, file, sentences, tokens, entities by type, documents or None, repaired I- tags)
COUNTS = [
    ('conll2003', 'train.txt', 14041, 203621, ents(6600, 7140, 6321, 3438), 946, 0),
    ('conll2003', 'valid.txt', 3250, 51362, ents(1842, 1837, 1341, 922), 216, 0),
    ('conll2002', 'esp.train', 8323, 264715, ents(4321, 4914, 7390, 2173), 0, 1), # SOURCE.md: exactly one I- after O per esp file
    ('conll2002', 'esp.testa', 1915, 52923, ents(1222, 985, 1700, 445), 0, 1),
    ('conll2002', 'esp.testb', 1517, 51533, ents(735, 1084, 1400, 340), 0, 1),
    ('conll2002', 'ned.train', 15806, 202644, ents(4716, 3208, 2082, 3338), 287, 0),
    ('conll2002', 'ned.testa', 2895, 37687, ents(703, 479, 686, 748), 74, 0),
    ('conll2002', 'ned.testb', 5195, 68875, ents(1098, 774, 882, 1187), 119, 0),
    ('wnut17', 'wnut17train.conll', 3394, 62730, dict(zip(WNUT_TYPES, [660, 548, 221, 142, 140, 264])), 0, 0),
    ('wnut17', 'emerging.dev.conll', 1009, 15733, dict(zip(WNUT_TYPES, [470, 74, 34, 114, 105, 39])), 0, 0),
    ('wnut17', 'emerging.test.annotated', 1287, 23394, dict(zip(WNUT_TYPES, [429, 150, 66, 127, 142, 165])), 0, 0),
]
WIKIANN = { # SOURCE.md: sentences / tokens / PER / LOC / ORG for train, dev, test
    'en': [(20000, 160394, 9164, 9345, 9422), (10000, 80536, 4635, 4834, 4677), (10000, 80326, 4556, 4657, 4745)],
    'de': [(20000, 195387, 9290, 9778, 8575), (10000, 97805, 4569, 4968, 4281), (10000, 97646, 4750, 4961, 4157)],
    'fr': [(20000, 136788, 8965, 9718, 7764), (10000, 68220, 4406, 4840, 3910), (10000, 68754, 4499, 4985, 3885)],
    'nl': [(20000, 169449, 9308, 9964, 7778), (10000, 84146, 4754, 4835, 3943), (10000, 85122, 4684, 5133, 3908)],
    'es': [(20000, 129283, 8295, 9144, 7311), (10000, 64329, 3966, 4567, 3737), (10000, 64727, 3959, 4725, 3576)],
    'pl': [(20000, 166474, 9530, 11354, 8407), (10000, 83706, 4915, 6034, 4255), (10000, 84625, 4841, 5893, 4226)],
    'ru': [(20000, 141529, 7187, 9498, 7944), (10000, 70279, 3590, 4852, 3892), (10000, 71288, 3543, 4560, 4074)],
}
for lang, splits in WIKIANN.items():
    layout, names = (('wikiann/rahimi_davidsbatista', ['train', 'dev', 'test']) if lang in ('en', 'de', 'fr', 'nl') else
                     ('wikiann/rahimi_babelscape', ['train.conllu', 'val.conllu', 'test.conllu']))
    COUNTS += [(layout, f"{lang}/{name}", s, t, ents(p, l, o), 0, 0) for name, (s, t, p, l, o) in zip(names, splits)]
# uner_v1 has no SOURCE.md: these counts were made independently with awk (sentences also equal the `# sent_id` lines;
# an I- tag after O or another type counts as a span start, as in the reader), and documents are `# newdoc` comments.
UNER = [
    ('UNER_Chinese-GSD/zh_gsd-ud-train.iob2', 3997, 98616, ents(2155, 2871, 1110), 134, 0),
    ('UNER_Chinese-GSD/zh_gsd-ud-dev.iob2', 500, 12663, ents(238, 437, 135), 17, 0),
    ('UNER_Chinese-GSD/zh_gsd-ud-test.iob2', 500, 12012, ents(206, 434, 127), 17, 0),
    ('UNER_Croatian-SET/hr_set-ud-train.iob2', 6914, 152857, {**ents(2432, 3074, 2755), 'OTH': 1003}, 189, 0),
    ('UNER_Croatian-SET/hr_set-ud-dev.iob2', 960, 22292, {**ents(400, 395, 424), 'OTH': 154}, 31, 1),
    ('UNER_Croatian-SET/hr_set-ud-test.iob2', 1136, 24260, {**ents(392, 597, 414), 'OTH': 133}, 31, 0),
    ('UNER_Danish-DDT/da_ddt-ud-train.iob2', 4383, 80378, ents(1237, 882, 909), 0, 6),
    ('UNER_Danish-DDT/da_ddt-ud-dev.iob2', 564, 10332, ents(166, 107, 106), 0, 0),
    ('UNER_Danish-DDT/da_ddt-ud-test.iob2', 565, 10023, ents(185, 90, 172), 0, 1),
    ('UNER_English-EWT/en_ewt-ud-dev.iob2', 2001, 25149, ents(343, 399, 224), 318, 0),
    ('UNER_English-EWT/en_ewt-ud-test.iob2', 2077, 25097, ents(449, 317, 322), 316, 0),
    ('UNER_Portuguese-Bosque/pt_bosque-ud-train.iob2', 7018, 171776, ents(2914, 2425, 2762), 234, 0),
    ('UNER_Portuguese-Bosque/pt_bosque-ud-dev.iob2', 1172, 28447, ents(570, 414, 417), 40, 0),
    ('UNER_Portuguese-Bosque/pt_bosque-ud-test.iob2', 1167, 27604, ents(442, 317, 456), 39, 0),
    ('UNER_Serbian-SET/sr_set-ud-train.iob2', 3328, 74259, {**ents(1436, 2059, 1527), 'OTH': 355}, 132, 2),
    ('UNER_Serbian-SET/sr_set-ud-dev.iob2', 536, 11993, {**ents(236, 293, 215), 'OTH': 100}, 22, 2),
    ('UNER_Serbian-SET/sr_set-ud-test.iob2', 520, 11421, {**ents(209, 387, 251), 'OTH': 54}, 22, 0),
    ('UNER_Slovak-SNK/sk_snk-ud-train.iob2', 8483, 80628, ents(2277, 277, 153), 283, 0),
    ('UNER_Slovak-SNK/sk_snk-ud-dev.iob2', 1060, 12733, ents(276, 300, 60), 36, 0),
    ('UNER_Slovak-SNK/sk_snk-ud-test.iob2', 1061, 12736, ents(539, 326, 50), 36, 0),
    ('UNER_Swedish-Talbanken/sv_talbanken-ud-train.iob2', 4303, 66646, ents(250, 504, 213), 62, 0),
    ('UNER_Swedish-Talbanken/sv_talbanken-ud-dev.iob2', 504, 9797, ents(13, 5, 5), 8, 0),
    ('UNER_Swedish-Talbanken/sv_talbanken-ud-test.iob2', 1219, 20377, ents(33, 132, 31), 15, 0),
]
COUNTS += [('uner_v1', *row) for row in UNER]

@pytest.mark.parametrize('corpus, file, sentences, tokens, entities, docs, repaired', COUNTS, ids=[f"{c}/{f}" for c, f, *_ in COUNTS])
def test_corpus_counts(corpus, file, sentences, tokens, entities, docs, repaired):
    d = dev_data_dir(corpus)
    if d is None: pytest.skip(f"no shared/data/{corpus}")
    sents, rep = read_conll(d/file, **CORPUS_FORMATS[corpus])
    assert (rep.sentences, len(sents), rep.tokens) == (sentences, sentences, tokens)
    assert dict(rep.entities) == entities
    assert (rep.docs, len(rep.repaired), rep.scheme) == (docs, repaired, 'IOB2')
    # every UNER sentence has `# sent_id` and `# text` comments; no other corpus has comments (a '#' word is data)
    assert rep.skipped['comment'] >= 2 * sentences if corpus == 'uner_v1' else 'comment' not in rep.skipped

def test_every_corpus_file_is_counted():
    "A file added to shared/data without a row above fails here, instead of going unchecked."
    d = dev_data_dir()
    if d is None or dev_data_dir('conll2003') is None: pytest.skip('no shared/data')
    not_data = {'SOURCE.md', 'README', 'README.md', 'LICENSE.txt'}
    found = {(c, str(p.relative_to(d/c))) for c in CORPUS_FORMATS for p in (d/c).rglob('*') if p.is_file() and p.name not in not_data}
    assert found == {(c, f) for c, f, *_ in COUNTS}

def test_conll2003_train_round_trips(tmp_path):
    d = dev_data_dir('conll2003')
    if d is None: pytest.skip('no shared/data/conll2003')
    sents, rep = read_conll(d/'train.txt')
    for scheme, name in [('IOB2', 'train.tsv'), ('BIOES', 'train.bioes.txt.gz')]:
        write_conll(sents, tmp_path/name, scheme, doc_starts=rep.doc_starts)
        back, rep2 = read_conll(tmp_path/name)
        assert words_tags(back) == words_tags(sents)
        assert (rep2.doc_starts, rep2.entities, rep2.scheme) == (rep.doc_starts, rep.entities, scheme)
    with gzip.open(tmp_path/'train.bioes.txt.gz', 'rt') as f: assert f.readline() == '-DOCSTART-\tO\n'


def test_tag_rules_have_one_home():
    "The tag rules live in ft_nb.tags; the old import paths give the very same objects, not copies."
    import ft_nb.tags as tags, ft_nb.data.conll as conll, ft_nb.data.core as core, ft_nb.metrics as metrics, ft_nb.crf as crf
    for mod, names in [(conll, ['tag_problem', 'to_iob2', 'to_bioes', 'detect_scheme']), (metrics, ['spans']),
                       (crf, ['allowed_transitions', 'Constraints'])]:
        for name in names: assert getattr(mod, name) is getattr(tags, name), (mod.__name__, name)
    assert conll.SCHEME_PREFIXES is tags.SCHEMES and conll.text_lines is core.text_lines
    assert core.sorted_labels(['U-PER', 'S-PER', 'B-PER', 'O']) == ['O', 'B-PER', 'S-PER', 'U-PER'] # no BILOU letters listed


def test_gzip_conll_through_a_fifo(tmp_path):
    "A gzip CoNLL file read from a FIFO: the sniffed magic bytes are not lost."
    import gzip, os, threading
    if not hasattr(os, 'mkfifo'): pytest.skip('no FIFOs')
    data = gzip.compress(''.join(f'w{i} {"B-PER" if i % 7 == 0 else "O"}\n' + ('\n' if i % 10 == 9 else '') for i in range(1000)).encode())
    fifo = tmp_path/'train.conll'; os.mkfifo(fifo)
    def write():
        with open(fifo, 'wb') as f: f.write(data)
    t = threading.Thread(target=write); t.start()
    try: sents, rep = read_conll(fifo)
    finally: t.join()
    assert (rep.sentences, rep.tokens, rep.entities['PER']) == (100, 1000, 143)
