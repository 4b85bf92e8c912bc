#!/usr/bin/env python3
"""Derive name-token frequency tables from the CEA Salesperson Information register.
Input : /tmp/sgresearch/CEASalespersonInformation.csv (raw register, NOT committed)
Output: token-count CSVs (no registration numbers, no full names) in /tmp/sgresearch/out/
Every rule is deterministic; see PROVENANCE.md for the description."""
import csv, re, collections, gzip, sys, json
RAW='/tmp/sgresearch/CEASalespersonInformation.csv'
OUT='/tmp/sgresearch/out/'
MIN=2  # drop hapax tokens/sequences (no single-occurrence strings are published)
rows=list(csv.DictReader(open(RAW,encoding='utf-8-sig')))
def toks(s): return [t for t in re.split(r"[^A-Z'\-]+",s.upper()) if t]
MAL=re.compile(r"\b(BIN|BINTE|BINTI|BTE|BT)\b")
IND=re.compile(r"\b(S/O|D/O|S/0|D/0|A/L|A/P)\b")
MALE_M={"BIN"}; FEM_M={'BINTE','BINTI','BTE','BT'}
# ---- SSA sex share for English given names (US public-domain data; sex association only)
ssa=collections.defaultdict(lambda:[0,0])
with gzip.open('/work/shared/data/usa/names/ssa_national_babynames_1880_2024.csv.gz','rt') as f:
    for r in csv.DictReader(f):
        if int(r['year'])<1940: continue
        ssa[r['name'].upper()][0 if r['sex']=='F' else 1]+=int(r['births'])
def fshare(t):
    f,m=ssa.get(t,(0,0)); return (f/(f+m)) if f+m>=1000 else None
# ---- split official / preferred parts
parsed=[]
for r in rows:
    n=r['salesperson_name'].upper().strip()
    i=n.find('(')
    off,pref=(n[:i],n[i:]) if i>=0 else (n,'')
    parsed.append((off,pref))
# ---- English-name lexicon from preferred parts (tokens not in the official name)
a=collections.Counter(); b=collections.Counter()
for off,pref in parsed:
    if MAL.search(off) or IND.search(off): continue
    o,c=(off.split(',',1)+[''])[:2]
    ot,ct,pt=toks(o),toks(c),toks(pref)
    for t in ot[1:]: b[t]+=1
    for t in (set(pt)-set(ot)-set(ct))|set(ct): a[t]+=1
first=collections.Counter(toks((o.split(',')[0]))[0] for o,p in parsed if toks(o.split(',')[0]) and not (MAL.search(o) or IND.search(o)))
E={t for t in a if len(t)>=3 and a[t]>=3 and a[t]>=0.5*b[t] and first[t]<=a[t]}
# ---- romanised-Chinese syllable test (permissive; Hokkien/Teochew/Cantonese/Hakka/Hainanese/pinyin/Wade-Giles)
INIT="(?:CHH|TSH|ZH|CH|SH|TS|TZ|HS|KW|GW|HW|PH|TH|KH|NG|SZ|[BPMFDTNLGKHJQXRZCSYW])?"
FIN="(?:[AEIOU]{1,3}|Y|[AEIOU]{1,2}[WY])R?(?:NG|N|M|CK|K|H|T|P)?"
SYL=re.compile("^(?:(?:%s%s)|H?NG|M){1,3}$"%(INIT,FIN))
def chinese_like(t): return len(t)<=10 and all(SYL.match(p) for p in t.split('-') if p) and t.strip('-')!=''

surn=collections.Counter(); gsyl=collections.Counter(); gpos=collections.defaultdict(collections.Counter)
gsex=collections.defaultdict(lambda:[0,0]); pair=collections.Counter(); pairsex=collections.defaultdict(lambda:[0,0])
engc=collections.Counter(); engall=collections.Counter(); nsyl=collections.Counter()
struct=collections.Counter(); engpos=collections.Counter(); pending=[]
mal=collections.Counter(); malseq=collections.Counter(); ind=collections.Counter(); indseq=collections.Counter()
for off,pref in parsed:
    pt=toks(pref)
    m=IND.search(off)
    if m:
        sex='M' if m.group(1) in ('S/O','S/0','A/L') else 'F'
        own=toks(off[:m.start()]); fa=toks(off[m.end():].split(',')[0])
        own=[t for t in own if len(t)>1]; fa=[t for t in fa if len(t)>1]
        for k,t in enumerate(own): ind[(t,sex,'own_given',min(k+1,3))]+=1
        for k,t in enumerate(fa): ind[(t,'M','father',min(k+1,3))]+=1
        if own: indseq[(' '.join(own),sex)]+=1
        struct['indian_marker_'+sex]+=1; continue
    m=MAL.search(off)
    if m and m.start()>0:
        g=m.group(1); sex='M' if g in MALE_M else 'F'
        own=toks(off[:m.start()]); fa=toks(off[m.end():].split(',')[0])
        own=[t for t in own if len(t)>1]; fa=[t for t in fa if len(t)>1]
        for k,t in enumerate(own): mal[(t,sex,'own_given',min(k+1,3))]+=1
        for k,t in enumerate(fa): mal[(t,'M','father',min(k+1,3))]+=1
        if own: malseq[(' '.join(own),sex)]+=1
        struct['malay_marker_'+sex]+=1; continue
    o,c=(off.split(',',1)+[''])[:2]
    ot,ct=toks(o),toks(c)
    if not ot: struct['empty']+=1; continue
    eng=[]; pos=None
    # leading English name(s): "PEGGY SOH YEE CHIN"
    lead=[]
    while len(ot)>2 and ot[0] in E: lead.append(ot.pop(0))
    if lead: eng+=lead; pos='leading'
    trail=[]
    while len(ot)>2 and ot[-1] in E and (not chinese_like(ot[-1]) or len(ot)>3): trail.insert(0,ot.pop())
    if trail: eng+=trail; pos=pos or 'trailing'
    if ct: eng+=[t for t in ct if len(t)>1]; pos=pos or 'after_comma'
    if len(ot)==2 and not eng:
        if ot[0] in E and chinese_like(ot[1]) and ot[1] not in E: eng=[ot[0]]; ot=[ot[1]]; pos='leading'
        elif ot[1] in E and chinese_like(ot[0]) and ot[0] not in E: eng=[ot[1]]; ot=[ot[0]]; pos='trailing'
    rest=ot[1:]
    if len(ot)==1 and eng and ot[0] not in E:
        pending.append((ot[0],eng,pos)); continue
    if not rest or not all(chinese_like(t) and t not in E for t in rest):
        struct['other_no_marker']+=1
        for t in eng+[t for t in set(pt)-set(ot) if t in E]: engall[t]+=1
        continue
    sn=ot[0]
    if not chinese_like(sn): struct['other_no_marker']+=1; continue
    struct['chinese_pattern']+=1
    pe=[t for t in pt if t in E and t not in eng and t not in ot]
    if pe and not eng: pos='parenthesis_only'
    eng+=pe
    engpos[pos or 'none']+=1
    surn[sn]+=1; nsyl[len(rest)]+=1
    e0=eng[0] if eng else None; fs=fshare(e0) if e0 else None
    sx=None if fs is None else (0 if fs>=0.9 else 1 if fs<=0.1 else None)
    for k,t in enumerate(rest):
        gsyl[t]+=1; gpos[t][min(k+1,3)]+=1
        if sx is not None: gsex[t][sx]+=1
    pair[' '.join(rest)]+=1
    if sx is not None: pairsex[' '.join(rest)][sx]+=1
    for t in set(eng): engc[t]+=1; engall[t]+=1
for sn,eng,pos in pending:
    if surn[sn]>=5:
        struct['chinese_surname_english_given_only']+=1; engpos[pos]+=1
        surn[sn]+=1
        for t in set(eng): engc[t]+=1; engall[t]+=1
    else:
        struct['other_no_marker']+=1
        for t in set(eng): engall[t]+=1
def w(name,header,rowsout):
    with open(OUT+name,'w',newline='') as f:
        wr=csv.writer(f); wr.writerow(header); wr.writerows(rowsout)
    print(name,len(rowsout))
tot=sum(surn.values())
w('cea_chinese_surname_counts.csv',['surname','count','share_of_chinese_pattern'],
  [(s,n,'%.6f'%(n/tot)) for s,n in sorted(surn.items(),key=lambda x:(-x[1],x[0])) if n>=MIN])
w('cea_chinese_given_syllable_counts.csv',['syllable','count','count_pos1','count_pos2','count_pos3plus','n_with_female_english_name','n_with_male_english_name'],
  [(s,n,gpos[s][1],gpos[s][2],gpos[s][3],gsex[s][0],gsex[s][1]) for s,n in sorted(gsyl.items(),key=lambda x:(-x[1],x[0])) if n>=MIN])
w('cea_chinese_given_name_counts.csv',['given_name','n_syllables','count','n_with_female_english_name','n_with_male_english_name'],
  [(s,len(s.split()),n,pairsex[s][0],pairsex[s][1]) for s,n in sorted(pair.items(),key=lambda x:(-x[1],x[0])) if n>=MIN])
w('cea_english_given_name_counts.csv',['english_name','count_chinese_pattern','count_all_unmarked','ssa_female_share_1940_2024'],
  [(s,engc[s],n,'' if fshare(s) is None else '%.4f'%fshare(s)) for s,n in sorted(engall.items(),key=lambda x:(-x[1],x[0])) if n>=MIN])
w('cea_malay_name_token_counts.csv',['token','sex','role','position','count'],
  [(t,s,r,p,n) for (t,s,r,p),n in sorted(mal.items(),key=lambda x:(-x[1],x[0])) if n>=MIN])
w('cea_malay_given_name_counts.csv',['given_name','sex','count'],
  [(t,s,n) for (t,s),n in sorted(malseq.items(),key=lambda x:(-x[1],x[0])) if n>=MIN])
w('cea_indian_name_token_counts.csv',['token','sex','role','position','count'],
  [(t,s,r,p,n) for (t,s,r,p),n in sorted(ind.items(),key=lambda x:(-x[1],x[0])) if n>=MIN])
w('cea_indian_given_name_counts.csv',['given_name','sex','count'],
  [(t,s,n) for (t,s),n in sorted(indseq.items(),key=lambda x:(-x[1],x[0])) if n>=MIN])
summ=[('register_rows',len(rows))]+sorted(struct.items())+[('chinese_english_name_position_'+k,v) for k,v in sorted(engpos.items())]+[('chinese_given_syllables_'+str(k),v) for k,v in sorted(nsyl.items())]
w('cea_name_structure_summary.csv',['measure','count'],summ)
