-- Correlations of an event are read through its attributes (attributes_event, then the
-- primary key or correlations_attribute_1), so the two indexes by event id only cost
-- writes: each correlation row went into five B-trees, now three. Both columns stay, as
-- rows written before this migration have them.
DROP INDEX correlations_event;
DROP INDEX correlations_event_1;
