#!/usr/bin/env python3
# pprof-split.py PROFILE: splits a Go CPU profile of an aistream group's span
# (e.g. "aistream bench --floor-cpuprofile") by where each sample's goroutine
# runs: GC and storage first (anywhere in the stack), then the goroutine's
# root: goka's partition processor (sub-split: ctx.Emit, ctx.SetValue, the
# handler's own code, the rest), goka's claim hand-off, the producer
# (aistream's + sarama's), sarama's consumer, the runtime. Needs `go` on PATH.
# An analysis aid for BENCH-HISTORY.md (issue 11); not run by the tests.
import re, sys, subprocess, collections
prof = sys.argv[1]
out = subprocess.run(["go","tool","pprof","-traces",prof],capture_output=True,text=True).stdout
blocks = out.split("-----------+-------------------------------------------------------")[1:]
def ms(v):
    v=v.strip()
    if v.endswith("ms"): return float(v[:-2])
    if v.endswith("s"): return float(v[:-1])*1000
    raise ValueError(v)
GC = re.compile(r"runtime\.(gcBgMarkWorker|gcAssistAlloc|bgsweep|bgscavenge|gcDrain|markroot|gcStart|sweepone|scanobject|gcMarkDone|gcMarkTermination)")
STORE = re.compile(r"goleveldb|lovoo/goka/storage|internal/stream\.\(\*?[a-zA-Z]*[Ss]tor")
roots = [  # scanned from the goroutine's root upward; first hit wins
 ("goka partition processor", re.compile(r"goka\.\(\*PartitionProcessor\)")),
 ("goka Processor.ConsumeClaim + aistream group wrapper (claim -> partition queue)", re.compile(r"goka\.\(\*Processor\)\.ConsumeClaim|internal/stream\.\(\*(generationHandler|orderedHandler)\)")),
 ("producer (aistream + sarama async producer, goka committer)", re.compile(r"sarama\.\(\*(asyncProducer|brokerProducer|topicProducer|partitionProducer|produceSet)\)|internal/stream\.newProducer|internal/stream\.\(\*producer\)|createMessageCommitter|sarama\.\(\*Broker\)\.AsyncProduce")),
 ("sarama consumer (fetch, decode, feed, group session)", re.compile(r"sarama\.\(\*(brokerConsumer|partitionConsumer|consumer|consumerGroup|consumerGroupSession|offsetManager|partitionOffsetManager)\)")),
 ("sarama broker response reader (shared by fetch and produce)", re.compile(r"sarama\.\(\*Broker\)\.responseReceiver")),
 ("bench await/meter, other aistream", re.compile(r"aistream/aistream")),
]
cats = collections.Counter(); pp = collections.Counter(); pr=collections.Counter(); cm=0; total=0
for b in blocks:
    lines=[l for l in b.strip("\n").split("\n") if l.strip()]
    if not lines: continue
    m=re.match(r"\s*([0-9.]+m?s)\s+(.*)",lines[0])
    v=ms(m.group(1)); frames=[m.group(2).strip()]+[l.strip() for l in lines[1:]]
    total+=v
    st="\n".join(frames)
    if GC.search(st): c="GC (mark workers, assists, sweep)"
    elif STORE.search(st): c="storage (leveldb, goka storage)"
    else:
        c="runtime scheduler / netpoll / other"
        for f in reversed(frames):
            hit=[n for n,r in roots if r.search(f)]
            if hit: c=hit[0]; break
    cats[c]+=v
    if c=="goka partition processor":
        if "goka.(*cbContext).Emit" in st: s="ctx.Emit -> producer input"
        elif re.search(r"Promise|tryCommit|emitDone|MarkOffset",st): s="promise callbacks + offset marking"
        elif "goka.(*cbContext).SetValue" in st: s="ctx.SetValue (non-storage part)"
        elif re.search(r"aistream/aistream/(processors|internal/codecs|codecs|internal/events|events)",st): s="handler code (aistream processors, codecs)"
        elif "floor.go" in st or "bench.floorGroups" in st: s="the floor handler itself"
        else: s="rest (run loop, select, stats, decode)"
        pp[s]+=v
    if c.startswith("producer"):
        if "internal/stream.newProducer" in st: s="aistream producer result loop -> goka promise callbacks, offset marking"
        elif re.search(r"brokerProducer|Broker\)\.AsyncProduce|newBrokerProducer",st): s="sarama brokerProducer (batch, encode, send, responses)"
        elif re.search(r"asyncProducer\)\.dispatcher|topicProducer|partitionProducer",st): s="sarama dispatch/partitioning"
        else: s="other producer"
        pr[s]+=v
    if "changelogMerge" in st: cm+=v
print(f"{prof}: total {total/1000:.2f}s")
for c,v in cats.most_common(): print(f"  {v/total*100:5.1f}%  {v/1000:5.2f}s  {c}")
for s,v in pp.most_common(): print(f"      pp {v/total*100:5.1f}%  {s}")
for x,v in pr.most_common(): print(f"      prod {v/total*100:5.1f}%  {x}")
print(f"  (changelogMerge frames anywhere: {cm/total*100:.1f}%)")
