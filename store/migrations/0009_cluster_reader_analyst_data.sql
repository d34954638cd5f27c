-- A galaxy cluster pulled from MISP (galaxy_clusters/view) carried what MISP shows its
-- reader: notes, opinions and relationships about it, relationships of other elements to
-- it, and the reader's count of the events carrying its tag (tag_count, tag_id). Kept with
-- the cluster, they went to every reader of it here, whatever their own distribution;
-- clusters no longer keep them (misp.DropReaderMembers), and those stored before lose
-- them here.
UPDATE galaxy_clusters
SET extra = json_remove(extra, '$.Note', '$.Opinion', '$.Relationship', '$.RelationshipInbound', '$.tag_count', '$.tag_id')
WHERE json_valid(extra)
  AND (json_type(extra, '$.Note') IS NOT NULL OR json_type(extra, '$.Opinion') IS NOT NULL
    OR json_type(extra, '$.Relationship') IS NOT NULL OR json_type(extra, '$.RelationshipInbound') IS NOT NULL
    OR json_type(extra, '$.tag_count') IS NOT NULL OR json_type(extra, '$.tag_id') IS NOT NULL);
