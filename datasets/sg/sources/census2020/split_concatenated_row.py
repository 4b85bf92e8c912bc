import sys
TOL=5
def z(x): return 0 if x is None else x
def toks(s):
    if s.startswith('-'): yield None,s[1:]; return
    for L in range(1,min(8,len(s))+1):
        t=s[:L]
        if '-' in t: break
        if len(t)>1 and t[0]=='0': break
        yield int(t),s[L:]
def triples(s):
    for t,r1 in toks(s):
        for m,r2 in toks(r1):
            for f,r3 in toks(r2):
                if abs(z(t)-z(m)-z(f))<=TOL: yield (t,m,f),r3
def solve(s):
    out=[]
    def rec(s,acc):
        if len(acc)==5:
            if s=='' and abs(z(acc[0][0])-sum(z(a[0]) for a in acc[1:]))<=TOL: out.append(acc)
            return
        for tr,rest in triples(s):
            if len(acc)>=1 and z(tr[0])>z(acc[0][0])+TOL: continue
            rec(rest,acc+[tr])
    rec(s,[]); return out
if __name__=='__main__':
    for line in sys.stdin:
        lab,d=line.rstrip('\n').split('\t')
        sols=solve(d); print(lab,len(sols),sols[:4])
