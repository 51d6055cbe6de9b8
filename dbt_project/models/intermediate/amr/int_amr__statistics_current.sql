{#
  统计月报可用值 The chosen statistics documents that are usable: a document with a ytd value
  below the previous month's is bad as a whole and left out (its month is unknown), whether the
  loader quarantined it already or only this check finds it (months loaded out of order).
#}
select c.*
from {{ ref('int_amr__statistics_chosen') }} as c
where not c.is_quarantined
  and c.period not in (select period from {{ ref('int_amr__statistics_ytd_violations') }})
