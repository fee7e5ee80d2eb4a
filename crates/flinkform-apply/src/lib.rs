//! Executor: walks the plan DAG with bounded concurrency, rate limits, retries and state after every action
