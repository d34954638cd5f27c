-- A galaxy cluster pulled from MISP (galaxy_clusters/view) carried the analyst data MISP
-- shows its reader: notes, opinions and relationships about it, and relationships of other
-- elements to it. Kept with the cluster, they went to every reader of it here, whatever
-- their own distribution; clusters no longer keep them (misp.DropReaderAnalystData), and
-- those stored before lose them here.
UPDATE galaxy_clusters
SET extra = json_remove(extra, '$.Note', '$.Opinion', '$.Relationship', '$.RelationshipInbound')
WHERE json_valid(extra)
  AND (json_type(extra, '$.Note') IS NOT NULL OR json_type(extra, '$.Opinion') IS NOT NULL
    OR json_type(extra, '$.Relationship') IS NOT NULL OR json_type(extra, '$.RelationshipInbound') IS NOT NULL);
