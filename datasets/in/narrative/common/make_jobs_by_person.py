"""Writes jobs_by_person.csv from jobs.csv (run from this folder after editing jobs.csv):
for each occupation group x zone x sex x schooling band, the jobs whose `zone` fits and whose `edu`
the band reaches; a few jobs are kept to one sex or left out (no region in the key), see README.md."""
import csv
import os
D=os.path.dirname(os.path.abspath(__file__))+'/'
jobs=list(csv.DictReader(open(D+'jobs.csv')))
WOMEN={'anm_health_worker','asha_worker','preschool_anganwadi','beautician'}
MEN={'truck_driver','bus_driver','tractor_driver','jcb_operator','rickshaw_puller','railway_porter','bar_bender','quarry_stone_cutter','mine_labourer','brick_kiln_fireman','auto_rickshaw_driver','cab_driver','loader','boiler_operator','furnace_operator'}
REGIONAL={'tea_garden_worker','fish_drying_worker','fishing_boat_deckhand','silkworm_rearer'}
jobs=[j for j in jobs if j['key'] not in REGIONAL]
order={'any':0,'school':1,'diploma':2,'degree':3}
subs=sorted(set(j['subdivision'] for j in jobs))
rows=[]
for s in subs:
    for zone in ('Rural','Urban'):
        for sex in ('Female','Male'):
            base=[j for j in jobs if j['subdivision']==s and j['zone'] in ('any',zone.lower())]
            js=[j for j in base if not (sex=='Male' and j['key'] in WOMEN) and not (sex=='Female' and j['key'] in MEN)]
            if not js: js=base
            for band in ('any','school','diploma','degree'):
                ok=[j['key'] for j in js if order[j['edu']]<=order[band]]
                if not ok:
                    lo=min(order[j['edu']] for j in js)
                    ok=[j['key'] for j in js if order[j['edu']]==lo]
                rows.append([f"{s}/{zone}/{sex}/{band}", ';'.join(ok)])
with open(D+'jobs_by_person.csv','w',newline='') as fh:
    w=csv.writer(fh,lineterminator='\n'); w.writerow(['key','jobs']); w.writerows(rows)
print(len(subs), len(rows))
