"""The learning curve of docs/classifier.md: for each dev set and each k,
the first k posts of a seeded shuffle are a team's labels and the rest are
measured, with `escucha eval TEST --train TRAIN` (the rules, the shipped
data and the k labels) beside TF-IDF + logistic regression fitted to the
same k labels (scikit-learn). Measures only: nothing here is shipped.

    cargo build --release && pip install scikit-learn
    python3 tools/learning-curve.py en,es 0,300,1000
"""
import json, os, random, subprocess, sys, tempfile
from sklearn.linear_model import LogisticRegression
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.metrics import f1_score
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEV = os.environ.get('ESCUCHA_DEV_DIR', os.path.join(ROOT, '..', 'shared', 'data', 'dev'))
BIN = os.path.join(ROOT, 'target', 'release', 'escucha')
TMP = tempfile.mkdtemp()


def load(f): return [json.loads(l) for l in open(f)]
lab=lambda l: {'escalation':'complaint','other':'neutral'}.get(l,l)
def run(name, k, seed=1):
    rows=load(DEV + '/airline-%s.jsonl'%name)
    random.Random(seed).shuffle(rows)
    tr,te=rows[:k],rows[k:]
    json_tr=os.path.join(TMP, 'train.jsonl'); json_te=os.path.join(TMP, 'test.jsonl')
    open(json_tr,'w').write(''.join(json.dumps({'text':r['text'],'label':r['label'],'lang':r['lang']})+'\n' for r in tr))
    open(json_te,'w').write(''.join(json.dumps({'text':r['text'],'label':r['label'],'lang':r['lang']})+'\n' for r in te))
    args=[BIN,'eval',json_te,'--json']
    if k: args+=['--train',json_tr]
    r=json.loads(subprocess.run(args,capture_output=True,text=True,check=True).stdout)
    out=f"{name} k={k}: escucha 3c {r['classes']['macro_f1']:.3f} bin {r['binary']['macro_f1']:.3f}"
    if k:
        tf=TfidfVectorizer(sublinear_tf=True,ngram_range=(1,2),min_df=1); X=tf.fit_transform([r['text'] for r in tr])
        clf=LogisticRegression(max_iter=2000,C=10).fit(X,[lab(r['label']) for r in tr])
        p=clf.predict(tf.transform([r['text'] for r in te])); y=[lab(r['label']) for r in te]
        b=f1_score([a=='complaint' for a in y],[a=='complaint' for a in p],average='macro')
        out+=f" | tfidf 3c {f1_score(y,p,average='macro'):.3f} bin {b:.3f}"
    print(out,flush=True)
for name in sys.argv[1].split(','):
    for k in [int(x) for x in sys.argv[2].split(',')]:
        run(name,k)
