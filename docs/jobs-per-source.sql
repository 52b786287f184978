-- Jobs per source, how many finished, rows imported and failed (README, "What landed").
-- imported / failed: the vendor's own counts where its status gives them (Fullstory's
-- imports / errors), else counted from the extracted result rows: DruID bulk_results rows
-- without / with an error, SailPoint config_import_results imported objects / errors.
-- Runs on DuckDB (scripts/duckdb FILE -f docs/jobs-per-source.sql) and PostgreSQL
-- (psql -f docs/jobs-per-source.sql).
with counted as (
    select 'druid' as source, bulk_id as job_id,
           count(*) filter (where error is null) as imported,
           count(*) filter (where error is not null) as failed
    from batchimport.bulk_results
    group by bulk_id
    union all
    select 'sailpoint', job_id,
           count(*) filter (where category = 'imported_object'),
           count(*) filter (where category = 'error')
    from batchimport.config_import_results
    group by job_id
)
select j.source, count(*) as jobs, count(*) filter (where j.is_finished) as finished,
       sum(coalesce(j.imports, c.imported)) as imported,
       sum(coalesce(j.errors, c.failed)) as failed,
       case when bool_or(j.imports is not null) then 'vendor status' else 'result rows' end
           as counted_from
from batchimport.job_details as j
left join counted as c on c.source = j.source and c.job_id = j.job_id
group by j.source
order by j.source;
