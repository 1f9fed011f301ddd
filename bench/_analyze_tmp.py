import sys, time
from pathlib import Path
from bench.bench_search import targets, make_queries
from bot.store import Store
store = Store(Path(sys.argv[1]))
planted = {t.id: t for t in targets()}
qs = make_queries(list(planted.values()))
want = sys.argv[2:] 
for kind, text, target in qs:
    if want and kind not in want: continue
    t=time.perf_counter(); hits = store.search_hits(text, limit=10); ms=(time.perf_counter()-t)*1000
    found=[h.paper.id for h in hits]
    r = found.index(target)+1 if target in found else None
    if r != 1:
        print(f"[{kind}] {text!r} -> target {target} rank {r} ({ms:.0f} ms); title: {planted[target].title[:70]}")
        for h in hits[:3]:
            print(f"     {h.score:.3f} cov={h.coverage:.2f} {h.paper.id} {h.paper.title[:80]!r}")
