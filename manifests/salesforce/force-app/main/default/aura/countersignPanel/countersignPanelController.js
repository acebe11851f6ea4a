({
    // Canvas parameters are a JSON string; Countersign reads them from the signed request's
    // context.environment.parameters (recordId, objectType). The panel renders once they are
    // set (see the aura:if in the markup).
    init: function (component) {
        component.set(
            "v.canvasParameters",
            JSON.stringify({
                recordId: component.get("v.recordId"),
                objectType: component.get("v.sObjectName")
            })
        );
    }
})
