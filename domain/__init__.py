"""Pure domain of Paddock: values, rules, aggregates and events. No I/O, no asyncio, no logging."""
