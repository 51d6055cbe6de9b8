{#
  The KPI definitions of KPIS.md over records `r` in period `p`, one list per (domain, date role):
  [kpi_code, aggregate expression, zero_when_empty]. The KPI models (per region) and the breakdown
  models (per dimension member) both read them, so a split always sums the same measure.
#}
{% macro kpi_measures(domain, role) -%}
    {%- set measures = {
        ('court', 'filed'): [
            ['court_cases_received', 'count(*)', true],
            ['court_civil_claim_amount', "sum(coalesce(r.claim_amount_yuan, 0)) filter (where r.case_type = '民事')", true],
        ],
        ('court', 'closed'): [
            ['court_cases_closed', 'count(*)', true],
            ['court_civil_acceptance_rate',
             "100.0 * count(*) filter (where r.case_type = '民事' and r.trial_level = '一审' and r.appealed = false)"
             ~ " / nullif(count(*) filter (where r.case_type = '民事' and r.trial_level = '一审' and r.appealed is not null), 0)",
             false],
            ['court_avg_trial_days', 'avg(r.closed_date - r.filed_date)', false],
            ['court_punitive_damages_cases', 'count(*) filter (where r.punitive_damages)', true],
        ],
        ('amr_cases', 'opened'): [
            ['amr_closure_rate',
             "100.0 * count(*) filter (where r.status = '已结案' and r.closed_on < p.end_date) / nullif(count(*), 0)",
             false],
            ['amr_transfers_to_police', 'count(*) filter (where r.transferred_to_police)', true],
        ],
        ('amr_cases', 'closed'): [
            ['amr_patent_cases_closed', "count(*) filter (where r.category_group = 'patent')", true],
            ['amr_trademark_cases_closed', "count(*) filter (where r.category_group = 'trademark')", true],
            ['amr_cases_closed', 'count(*)', true],
            ['amr_fines', 'sum(r.fine_yuan)', true],
            ['amr_avg_case_days', 'avg(r.closed_on - r.opened_on)', false],
        ],
        ('police', 'filed'): [
            ['police_cases_filed', 'count(*)', true],
            ['police_amount_involved', 'sum(r.amount_yuan)', true],
            ['police_cases_from_admin', 'count(*) filter (where r.is_admin_transfer)', true],
        ],
        ('police', 'solved'): [
            ['police_cases_solved', 'count(*)', true],
            ['police_suspects', 'sum(r.suspects)', true],
        ],
        ('finance', 'registered'): [
            ['ip_pledge_amount', 'sum(r.amount_yuan)', true],
            ['ip_pledge_registrations', 'count(*)', true],
            ['ip_pledge_enterprises', 'count(distinct r.pledgor_uscc)', true],
            ['ip_pledge_first_loans', 'count(*) filter (where r.is_first_loan)', true],
        ],
        ('customs', 'seized'): [
            ['customs_seizure_batches', 'count(*)', true],
            ['customs_seizure_items', 'sum(r.quantity)', true],
            ['customs_seizure_value', 'sum(r.value_yuan)', true],
        ],
    } -%}
    {{ return(measures[(domain, role)]) }}
{%- endmacro %}
