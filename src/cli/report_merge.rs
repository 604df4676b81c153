//! `obconform report merge PART… --out DIR`: the reports of a partitioned run (one per CI
//! machine) joined into one report.json / junit.xml / report.html, scenarios back in run order.

use super::{Outcome, ReportMergeArgs};
use crate::report::files::{read_report, write_report};
use crate::report::model::{CoverageReport, FORMAT, Partition, RunReport, Summary};
use std::collections::BTreeSet;

pub fn merge_command(args: ReportMergeArgs) -> Outcome {
    let mut parts = Vec::new();
    for path in &args.parts {
        match read_report(path) {
            Ok(report) => parts.push(report),
            Err(e) => {
                crate::error_chain::print_error(e);
                return Outcome::UsageError;
            }
        }
    }
    let merged = match merge(parts, args.allow_incomplete) {
        Ok(merged) => merged,
        Err(e) => {
            crate::error_chain::print_error(e);
            return Outcome::UsageError;
        }
    };
    if let Err(e) = write_report(&args.out, &merged) {
        crate::error_chain::print_error(e);
        return Outcome::UsageError;
    }
    let s = &merged.summary;
    println!(
        "merged {} parts: scenarios: {} passed, {} failed, {} skipped → {}",
        args.parts.len(),
        s.scenarios_passed,
        s.scenarios_failed,
        s.scenarios_skipped,
        args.out.display()
    );
    if s.passed() {
        Outcome::Success
    } else {
        Outcome::Failure
    }
}

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum MergeError {
    #[error("nothing to merge")]
    Empty,
    #[error(
        "a part is a whole run (made without --partition): merge only the parts of one partitioned run"
    )]
    NotPartitioned,
    #[error("the parts come from different splits ({0}): merge the parts of one run")]
    MixedCounts(String),
    #[error("part {0} is given twice")]
    Duplicate(Partition),
    #[error(
        "parts missing: {0} (their scenarios would be absent from the report; --allow-incomplete merges anyway)"
    )]
    Missing(String),
}

/// Joins partition reports: every part once, scenarios in run order, counts recomputed.
pub fn merge(parts: Vec<RunReport>, allow_incomplete: bool) -> Result<RunReport, MergeError> {
    let first = parts.first().ok_or(MergeError::Empty)?;
    let mut seen = BTreeSet::new();
    for part in &parts {
        if part.partitions.is_empty() {
            return Err(MergeError::NotPartitioned);
        }
        for p in &part.partitions {
            if !seen.insert(*p) {
                return Err(MergeError::Duplicate(*p));
            }
        }
    }
    let counts: BTreeSet<u32> = seen.iter().map(|p| p.count).collect();
    if counts.len() > 1 {
        let splits: Vec<String> = counts.iter().map(|n| format!("of {n}")).collect();
        return Err(MergeError::MixedCounts(splits.join(", ")));
    }
    let count = *counts.iter().next().unwrap_or(&1);
    let missing: Vec<String> = (1..=count)
        .map(|index| Partition { index, count })
        .filter(|p| !seen.contains(p))
        .map(|p| p.to_string())
        .collect();
    if !missing.is_empty() && !allow_incomplete {
        return Err(MergeError::Missing(missing.join(", ")));
    }
    let mut merged = RunReport {
        format: FORMAT,
        tool: first.tool.clone(),
        started_at: parts
            .iter()
            .map(|p| p.started_at.clone())
            .min()
            .unwrap_or_default(),
        finished_at: parts
            .iter()
            .map(|p| p.finished_at.clone())
            .max()
            .unwrap_or_default(),
        // The parts ran side by side on separate machines: the run took as long as the slowest.
        duration_ms: parts.iter().map(|p| p.duration_ms).max().unwrap_or(0),
        partitions: seen.into_iter().collect(),
        environments: Vec::new(),
        scenarios: Vec::new(),
        skipped: Vec::new(),
        summary: Summary::default(),
        coverage: Vec::new(),
    };
    for part in parts {
        merge_coverage(&mut merged.coverage, part.coverage);
        for env in part.environments {
            if !merged.environments.contains(&env) {
                merged.environments.push(env);
            }
        }
        merged.scenarios.extend(part.scenarios);
        for skipped in part.skipped {
            if !merged.skipped.contains(&skipped) {
                merged.skipped.push(skipped);
            }
        }
    }
    merged.finish();
    Ok(merged)
}

/// Each environment's coverage once: the statuses every part received, the calls outside added.
fn merge_coverage(into: &mut Vec<CoverageReport>, part: Vec<CoverageReport>) {
    for report in part {
        let Some(known) = into
            .iter_mut()
            .find(|r| r.environment == report.environment)
        else {
            into.push(report);
            continue;
        };
        for op in report.operations {
            match known
                .operations
                .iter_mut()
                .find(|o| o.operation == op.operation && o.spec == op.spec)
            {
                Some(o) => {
                    o.received.extend(op.received);
                    o.received.sort_unstable();
                    o.received.dedup();
                }
                None => known.operations.push(op),
            }
        }
        for outside in report.outside {
            match known
                .outside
                .iter_mut()
                .find(|o| o.request == outside.request)
            {
                Some(o) => o.count += outside.count,
                None => known.outside.push(outside),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::model::ScenarioReport;

    fn part(index: u32, count: u32, orders: &[usize], passed: bool) -> RunReport {
        let mut report = RunReport {
            format: FORMAT,
            tool: "obconform test".into(),
            started_at: format!("2026-11-21T10:00:0{index}Z"),
            finished_at: format!("2026-11-21T10:01:0{index}Z"),
            duration_ms: 1000 * u64::from(index),
            partitions: vec![Partition { index, count }],
            environments: Vec::new(),
            coverage: Vec::new(),
            scenarios: orders
                .iter()
                .map(|&order| ScenarioReport {
                    order,
                    test_name: format!("s::{order}"),
                    system: "s".into(),
                    title: String::new(),
                    file: String::new(),
                    environment: "embedded".into(),
                    passed,
                    elapsed_ms: 1,
                    steps: Vec::new(),
                })
                .collect(),
            skipped: Vec::new(),
            summary: Summary::default(),
        };
        report.finish();
        report
    }

    #[test]
    fn parts_join_in_run_order_with_counts_recomputed() {
        let merged = merge(
            vec![part(2, 2, &[1, 3], false), part(1, 2, &[0, 2, 4], true)],
            false,
        )
        .unwrap();
        let order: Vec<usize> = merged.scenarios.iter().map(|s| s.order).collect();
        assert_eq!(order, vec![0, 1, 2, 3, 4]);
        assert_eq!(merged.summary.scenarios_passed, 3);
        assert_eq!(merged.summary.scenarios_failed, 2);
        assert_eq!(merged.partitions.len(), 2);
        assert_eq!(merged.started_at, "2026-11-21T10:00:01Z");
        assert_eq!(merged.duration_ms, 2000);
    }

    #[test]
    fn incomplete_duplicate_or_mixed_parts_are_refused() {
        assert_eq!(
            merge(vec![part(1, 3, &[0], true), part(3, 3, &[2], true)], false),
            Err(MergeError::Missing("2/3".into()))
        );
        assert!(merge(vec![part(1, 3, &[0], true)], true).is_ok());
        assert_eq!(
            merge(vec![part(1, 2, &[0], true), part(1, 2, &[0], true)], false),
            Err(MergeError::Duplicate(Partition { index: 1, count: 2 }))
        );
        assert!(matches!(
            merge(vec![part(1, 2, &[0], true), part(2, 3, &[1], true)], false),
            Err(MergeError::MixedCounts(_))
        ));
        let mut whole = part(1, 1, &[0], true);
        whole.partitions.clear();
        assert_eq!(merge(vec![whole], false), Err(MergeError::NotPartitioned));
    }
}
